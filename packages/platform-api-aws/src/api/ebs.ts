import { CompleteSnapshotCommand, PutSnapshotBlockCommand, StartSnapshotCommand } from '@aws-sdk/client-ebs';
import type { AwsClients } from './clients.js';
import { awsCall } from './errors.js';

/** EBS direct APIs write snapshots in blocks of exactly this size. */
export const ebsBlockSize = 512 * 1024;

export async function startSnapshot(
  clients: AwsClients,
  input: {
    volumeSizeGib: number;
    description: string;
    tags: Record<string, string>;
    timeoutMinutes?: number;
  },
  signal: AbortSignal,
): Promise<string> {
  const ebs = await clients.ebs();
  const out = await awsCall('StartSnapshot', () =>
    ebs.send(
      new StartSnapshotCommand({
        VolumeSize: input.volumeSizeGib,
        Description: input.description,
        Tags: Object.entries(input.tags).map(([Key, Value]) => ({ Key, Value })),
        ...(input.timeoutMinutes ? { Timeout: input.timeoutMinutes } : {}),
      }),
      { abortSignal: signal },
    ),
  );
  if (!out.SnapshotId) throw new Error('StartSnapshot returned no snapshot id');
  return out.SnapshotId;
}

/** Writes one block; `checksum` is the base64 SHA-256 of `data`. */
export async function putSnapshotBlock(
  clients: AwsClients,
  input: { snapshotId: string; blockIndex: number; data: Uint8Array; checksum: string },
  signal: AbortSignal,
): Promise<void> {
  const ebs = await clients.ebs();
  await awsCall('PutSnapshotBlock', () =>
    ebs.send(
      new PutSnapshotBlockCommand({
        SnapshotId: input.snapshotId,
        BlockIndex: input.blockIndex,
        BlockData: input.data,
        DataLength: input.data.length,
        Checksum: input.checksum,
        ChecksumAlgorithm: 'SHA256',
      }),
      { abortSignal: signal },
    ),
  );
}

/** Seals the snapshot; `checksum` is the LINEAR aggregate (SHA-256 of the block digests in index order). */
export async function completeSnapshot(
  clients: AwsClients,
  input: { snapshotId: string; changedBlocks: number; checksum: string },
  signal: AbortSignal,
): Promise<string | undefined> {
  const ebs = await clients.ebs();
  const out = await awsCall('CompleteSnapshot', () =>
    ebs.send(
      new CompleteSnapshotCommand({
        SnapshotId: input.snapshotId,
        ChangedBlocksCount: input.changedBlocks,
        Checksum: input.checksum,
        ChecksumAlgorithm: 'SHA256',
        ChecksumAggregationMethod: 'LINEAR',
      }),
      { abortSignal: signal },
    ),
  );
  return out.Status;
}
