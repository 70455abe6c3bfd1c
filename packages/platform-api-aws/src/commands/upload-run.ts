import {
  ConfigError,
  expiresAtTag,
  type Logger,
  PlatformApiError,
  parseDuration,
  UsageError,
} from '@mantle/cluster';
import { fitsOneVmdkExtent, streamOptimizedVmdk, streamVmdkSizeBound } from '@mantle/cluster/stream-vmdk';
import type { z } from 'zod';
import { type AwsClients, createAwsClients } from '../api/clients.js';
import { completeSnapshot, ebsBlockSize, putSnapshotBlock, startSnapshot } from '../api/ebs.js';
import { awsErrorCode } from '../api/errors.js';
import {
  addImageLaunchPermissions,
  addSnapshotVolumePermissions,
  createTags,
  deleteSnapshot,
  deregisterImage,
  describeImportSnapshotTasks,
  describeOwnImages,
  describeOwnSnapshots,
  type Image,
  importSnapshot,
  registerImage,
  tagsOf,
} from '../api/images.js';
import { deleteObject, headObject } from '../api/s3.js';
import { callerAccount } from '../api/sts.js';
import { ownerTag } from '../tags.js';
import { uploadNonZeroBlocks } from '../upload/blocks.js';
import { type ImageInfo, inspectImage } from '../upload/image.js';
import { multipartUpload } from '../upload/multipart.js';
import { defaultBucket, expiryFrom, parseS3Url, parseTags, pollUntil } from './common.js';
import { importRoleName } from './initialize-run.js';
import type { AwsVerbInput, uploadOptions } from './schemas.js';

const GiB = 1024 ** 3;
/** mantle's smallest AMI root volume. */
const minimumDiskGib = 8;
const rootDevice = '/dev/xvda';

export interface UploadResult {
  ami: string;
  snapshot: string;
  /** Where the image stays in S3 (--delete-object=false or --source-object). */
  s3Object?: string;
}

interface Plan {
  name: string;
  amiName: string;
  description?: string;
  method: 'ebs' | 's3';
  image?: ImageInfo;
  /** What ImportSnapshot reads (--method s3). */
  objectFormat: 'vmdk' | 'raw';
  /** A raw --file uploaded as the stream-optimized VMDK made from it. */
  streamVmdk: boolean;
  sourceObject?: { bucket: string; key: string };
  sourceSnapshot?: string;
  diskSizeGib?: number;
  volumeType: 'gp3' | 'gp2';
  tags: Record<string, string>;
  grantUsers: string[];
  force: boolean;
  deleteObject: boolean;
  bucketUrl?: string;
  parallel?: number;
  pollMs: number;
  timeoutMs: number;
}

/** Checks every flag and the file before any cloud call: bad input costs nothing and deletes nothing. */
async function plan(o: z.output<typeof uploadOptions>): Promise<Plan> {
  const userTags = parseTags(o.tags);
  const expiresAt = expiryFrom(o);
  const pollMs = parseDuration(o.pollInterval, '--poll-interval');
  const timeoutMs = parseDuration(o.importTimeout, '--import-timeout');
  if (o.sourceObject && o.sourceSnapshot)
    throw new UsageError('--source-object and --source-snapshot: give one of them, not both');
  const sourceObject = o.sourceObject ? parseS3Url(o.sourceObject, '--source-object') : undefined;
  if (sourceObject && !sourceObject.key)
    throw new UsageError(`--source-object ${o.sourceObject}: names no object`);
  if (o.bucket) parseS3Url(o.bucket, '--bucket');
  let image: ImageInfo | undefined;
  if (!o.sourceObject && !o.sourceSnapshot) {
    if (!o.file) throw new UsageError('--file: required (or --source-object / --source-snapshot)');
    image = await inspectImage(o.file);
  }
  let method: 'ebs' | 's3';
  if (sourceObject) {
    if (o.method === 'ebs')
      throw new UsageError('--method ebs: --source-object is imported through S3 (--method s3)');
    method = 's3';
  } else if (image?.format === 'vmdk') {
    if (o.method === 'ebs')
      throw new UsageError(
        `--method ebs: ${image.path} is a VMDK; EBS direct takes raw images (use --method s3)`,
      );
    method = 's3';
  } else method = o.method ?? 'ebs';
  if (o.objectFormat && method === 'ebs')
    throw new UsageError('--object-format: only for --method s3 (ebs sends the raw blocks themselves)');
  if (o.objectFormat === 'raw' && image?.format === 'vmdk')
    throw new UsageError(`--object-format raw: ${image.path} is a VMDK`);
  const objectFormat =
    o.objectFormat ?? (sourceObject && !sourceObject.key.toLowerCase().endsWith('.vmdk') ? 'raw' : 'vmdk');
  // the raw file that goes to S3 as the VMDK made from it
  const vmdkOf = method === 's3' && objectFormat === 'vmdk' && image?.format === 'raw' ? image : undefined;
  if (vmdkOf && !fitsOneVmdkExtent(vmdkOf.size))
    throw new UsageError(
      `--object-format vmdk: ${vmdkOf.path} is over 2 TiB, more than one VMDK extent holds; use --object-format raw or --method ebs`,
    );
  const neededGib = image ? Math.ceil(image.diskSize / GiB) : undefined;
  if (o.diskSizeGib !== undefined && neededGib !== undefined && o.diskSizeGib < neededGib)
    throw new UsageError(`--disk-size-gib ${o.diskSizeGib}: the image needs at least ${neededGib} GiB`);
  const tags: Record<string, string> = {
    ...userTags,
    [ownerTag.key]: ownerTag.value,
    Name: o.name,
    ...(expiresAt ? { [expiresAtTag]: expiresAt } : {}),
  };
  return {
    name: o.name,
    amiName: o.amiName ?? o.name,
    ...(o.amiDescription ? { description: o.amiDescription } : {}),
    method,
    ...(image ? { image } : {}),
    objectFormat,
    streamVmdk: vmdkOf !== undefined,
    ...(sourceObject ? { sourceObject } : {}),
    ...(o.sourceSnapshot ? { sourceSnapshot: o.sourceSnapshot } : {}),
    ...(o.diskSizeGib !== undefined
      ? { diskSizeGib: o.diskSizeGib }
      : neededGib !== undefined
        ? { diskSizeGib: Math.max(minimumDiskGib, neededGib) }
        : {}),
    volumeType: o.volumeType,
    tags,
    grantUsers: o.grantUser,
    force: o.force,
    deleteObject: o.deleteObject,
    ...(o.bucket ? { bucketUrl: o.bucket } : {}),
    ...(o.parallel ? { parallel: o.parallel } : {}),
    pollMs,
    timeoutMs,
  };
}

const isOurs = (resource: { Tags?: Array<{ Key?: string; Value?: string }> }) =>
  tagsOf(resource)[ownerTag.key] === ownerTag.value;

const rootSnapshotOf = (image: Image) =>
  image.BlockDeviceMappings?.find((m) => m.DeviceName === image.RootDeviceName)?.Ebs?.SnapshotId ??
  image.BlockDeviceMappings?.find((m) => m.Ebs?.SnapshotId)?.Ebs?.SnapshotId;

/**
 * `ore aws upload`: image file → snapshot (EBS direct, or S3 + ImportSnapshot) → AMI, reusing a
 * completed snapshot (tag Name) or AMI (name) of an earlier run unless --force.
 */
export async function runUpload(input: AwsVerbInput<typeof uploadOptions>): Promise<number> {
  const p = await plan(input.options);
  const platform = input.platformOptions;
  const { signal, io, log } = input;
  const clients = createAwsClients(platform);
  // Loading an SDK client takes a few hundred ms: load the upload's own while STS and EC2 answer.
  // (A failure to load surfaces where the client is first used.)
  if (!p.sourceSnapshot) (p.method === 's3' ? clients.s3() : clients.ebs()).catch(() => {});
  try {
    const account = await callerAccount(clients, signal);
    const staging = p.sourceObject ?? stagingObject(p, account, clients.region);

    const sameName = await describeOwnImages(clients, [{ Name: 'name', Values: [p.amiName] }], signal);
    const foreign = sameName.find((i) => !isOurs(i));
    if (foreign)
      throw new ConfigError(
        `AMI ${foreign.ImageId} is already named "${p.amiName}" and was not made by ore (no ${ownerTag.key}=${ownerTag.value} tag); choose another --ami-name`,
      );
    if (p.force) await removeEarlier(clients, p, sameName, p.sourceObject ? undefined : staging, log, signal);
    else if (sameName[0]) {
      const image = sameName[0];
      // Our snapshot of that name first: it is the AMI's root unless the AMI came from --source-snapshot.
      const named = (await namedSnapshots(clients, p.name, signal)).find((s) => s.State === 'completed');
      const snapshot = named?.SnapshotId ?? rootSnapshotOf(image) ?? '';
      log.notice(`reusing AMI ${image.ImageId} named ${p.amiName} (use --force to upload again)`);
      await finish(clients, p, image.ImageId!, snapshot, signal);
      io.result({ ami: image.ImageId, snapshot }, `${image.ImageId} ${snapshot}`);
      return 0;
    }

    let snapshotId = p.sourceSnapshot;
    let s3Object: string | undefined = p.sourceObject
      ? `s3://${p.sourceObject.bucket}/${p.sourceObject.key}`
      : undefined;
    if (snapshotId) {
      const found = await describeOwnSnapshots(clients, [], signal, [snapshotId]).catch(() => []);
      if (!found[0])
        throw new ConfigError(`--source-snapshot ${snapshotId}: no such snapshot in this account`);
    } else if (!p.force) {
      const done = (await namedSnapshots(clients, p.name, signal)).find((s) => s.State === 'completed');
      if (done?.SnapshotId) {
        snapshotId = done.SnapshotId;
        log.notice(`reusing snapshot ${snapshotId} named ${p.name} (use --force to upload again)`);
      }
    }
    if (!snapshotId && p.method === 'ebs') snapshotId = await uploadByEbs(clients, p, input);
    if (!snapshotId) {
      const imported = await uploadByS3(clients, p, staging, input);
      snapshotId = imported.snapshotId;
      if (imported.objectKept) s3Object = `s3://${staging.bucket}/${staging.key}`;
    }
    await createTags(clients, [snapshotId], p.tags, signal);
    await pollUntil(
      `for snapshot ${snapshotId} to complete`,
      { intervalMs: p.pollMs, timeoutMs: p.timeoutMs, signal },
      async () => {
        const [s] = await describeOwnSnapshots(clients, [], signal, [snapshotId!]);
        if (s?.State === 'error')
          throw new PlatformApiError(
            { platform: 'aws', operation: 'DescribeSnapshots' },
            `snapshot ${snapshotId} failed: ${s.StateMessage ?? 'error'}`,
          );
        return s?.State === 'completed' ? s : undefined;
      },
    );

    const diskSizeGib = p.diskSizeGib ?? minimumDiskGib;
    let ami: string;
    try {
      ami = await registerImage(
        clients,
        {
          name: p.amiName,
          ...(p.description ? { description: p.description } : {}),
          snapshotId,
          volumeSizeGib: diskSizeGib,
          rootDevice,
          volumeType: p.volumeType,
        },
        signal,
      );
    } catch (e) {
      // Another run registered the same name meanwhile: theirs is as good as ours.
      if (awsErrorCode((e as { cause?: unknown }).cause) !== 'InvalidAMIName.Duplicate') throw e;
      const [existing] = await describeOwnImages(clients, [{ Name: 'name', Values: [p.amiName] }], signal);
      if (!existing?.ImageId) throw e;
      ami = existing.ImageId;
    }
    log.info(`registered ${ami}`, { name: p.amiName, snapshot: snapshotId });
    await finish(clients, p, ami, snapshotId, signal);
    const result: UploadResult = { ami, snapshot: snapshotId, ...(s3Object ? { s3Object } : {}) };
    io.result(result, [ami, snapshotId, s3Object].filter(Boolean).join(' '));
    return 0;
  } finally {
    clients.destroy();
  }
}

function stagingObject(p: Plan, account: string, region: string): { bucket: string; key: string } {
  const { bucket, key: prefix } = p.bucketUrl
    ? parseS3Url(p.bucketUrl, '--bucket')
    : { bucket: defaultBucket(account, region), key: '' };
  const file = `${p.name.replace(/[^\w.-]+/g, '_')}.${p.objectFormat}`;
  return { bucket, key: prefix ? `${prefix}/${file}` : file };
}

async function namedSnapshots(clients: AwsClients, name: string, signal: AbortSignal) {
  return describeOwnSnapshots(
    clients,
    [
      { Name: 'tag:Name', Values: [name] },
      { Name: `tag:${ownerTag.key}`, Values: [ownerTag.value] },
    ],
    signal,
  );
}

/** Tags the AMI (RegisterImage's TagSpecifications are not honoured everywhere) and grants launches. */
async function finish(clients: AwsClients, p: Plan, ami: string, snapshot: string, signal: AbortSignal) {
  await createTags(clients, [ami], p.tags, signal);
  if (p.grantUsers.length) {
    await addImageLaunchPermissions(clients, ami, { userIds: p.grantUsers, groups: [] }, signal);
    if (snapshot)
      await addSnapshotVolumePermissions(clients, snapshot, { userIds: p.grantUsers, groups: [] }, signal);
  }
}

/** --force: the AMIs of that name, the snapshots named `name` and the staging object, all made by ore. */
async function removeEarlier(
  clients: AwsClients,
  p: Plan,
  images: Image[],
  staging: { bucket: string; key: string } | undefined,
  log: Logger,
  signal: AbortSignal,
) {
  const snapshots = new Set<string>();
  for (const image of images) {
    const root = rootSnapshotOf(image);
    if (root) snapshots.add(root);
    await deregisterImage(clients, image.ImageId!, signal);
    log.notice(`--force: deregistered ${image.ImageId} (${p.amiName})`);
  }
  // Only snapshots carrying our tag: the AMI's root snapshot may be someone else's shared snapshot.
  const ours = await namedSnapshots(clients, p.name, signal);
  const rootsOurs = snapshots.size
    ? (await describeOwnSnapshots(clients, [], signal, [...snapshots]).catch(() => [])).filter(isOurs)
    : [];
  for (const s of new Map([...ours, ...rootsOurs].map((x) => [x.SnapshotId!, x])).keys()) {
    if (p.sourceSnapshot === s) continue;
    await deleteSnapshot(clients, s, signal);
    log.notice(`--force: deleted snapshot ${s}`);
  }
  if (
    staging &&
    p.method === 's3' &&
    (await headObject(clients, staging.bucket, staging.key, signal).catch(() => undefined))
  ) {
    await deleteObject(clients, staging.bucket, staging.key, signal);
    log.notice(`--force: deleted s3://${staging.bucket}/${staging.key}`);
  }
}

async function uploadByEbs(
  clients: AwsClients,
  p: Plan,
  input: AwsVerbInput<typeof uploadOptions>,
): Promise<string> {
  const image = p.image!;
  const { signal, log } = input;
  const snapshotId = await startSnapshot(
    clients,
    {
      volumeSizeGib: Math.max(1, Math.ceil(image.size / GiB)),
      description: `${p.name} (ore aws upload)`,
      tags: p.tags,
      // Minutes AWS keeps a snapshot open before giving up on it (4320 at most).
      timeoutMinutes: Math.min(4320, Math.max(10, Math.ceil(p.timeoutMs / 60_000))),
    },
    signal,
  );
  log.info(`uploading ${image.path} to snapshot ${snapshotId} (EBS direct, non-zero blocks only)`);
  const progress = input.io.progress(`upload ${p.name}`, { total: image.size, unit: 'bytes' });
  let completed = false;
  try {
    const sent = await uploadNonZeroBlocks({
      path: image.path,
      size: image.size,
      blockSize: ebsBlockSize,
      parallel: p.parallel ?? 16,
      signal,
      onProgress: (n) => progress.advance(n),
      put: (index, data, checksum, s) =>
        putSnapshotBlock(clients, { snapshotId, blockIndex: index, data, checksum }, s),
    });
    await completeSnapshot(
      clients,
      { snapshotId, changedBlocks: sent.blocksWritten, checksum: sent.checksum },
      signal,
    );
    completed = true;
    progress.done(`${sent.blocksWritten} of ${sent.totalBlocks} blocks sent (${sent.bytesSent} bytes)`);
    log.info(`snapshot ${snapshotId} complete`, {
      blocksWritten: sent.blocksWritten,
      totalBlocks: sent.totalBlocks,
      bytesSent: sent.bytesSent,
    });
    return snapshotId;
  } finally {
    progress.done();
    // A half-written snapshot is useless: remove it now rather than wait for AWS's timeout.
    if (!completed)
      await deleteSnapshot(clients, snapshotId, AbortSignal.timeout(30_000)).catch((e: unknown) =>
        log.warn(`could not delete unfinished snapshot ${snapshotId}: ${String(e)}`),
      );
  }
}

async function uploadByS3(
  clients: AwsClients,
  p: Plan,
  staging: { bucket: string; key: string },
  input: AwsVerbInput<typeof uploadOptions>,
): Promise<{ snapshotId: string; objectKept: boolean }> {
  const { signal, log } = input;
  const url = `s3://${staging.bucket}/${staging.key}`;
  const wait = { intervalMs: p.pollMs, timeoutMs: p.timeoutMs, signal };
  // An import of this name still running (an interrupted earlier run): wait for it instead.
  const running = (await describeImportSnapshotTasks(clients, [], signal)).find(
    (t) =>
      t.Description === p.name &&
      ['active', 'pending'].includes(t.SnapshotTaskDetail?.Status ?? '') &&
      !p.force,
  );
  let taskId = running?.ImportTaskId;
  if (taskId) log.notice(`waiting for the running import ${taskId} of ${p.name}`);
  else {
    if (!p.sourceObject) {
      const image = p.image!;
      // progress is over the image read, whatever the object's size
      const progress = input.io.progress(`upload ${p.name}`, { total: image.size, unit: 'bytes' });
      const vmdk = p.streamVmdk
        ? streamOptimizedVmdk({
            path: image.path,
            size: image.size,
            identity: `${p.name}:${image.mtimeMs}`,
            onRead: (n) => progress.advance(n),
            signal,
          })
        : undefined;
      try {
        const sent = await multipartUpload({
          clients,
          bucket: staging.bucket,
          key: staging.key,
          body: vmdk
            ? { generated: vmdk.chunks, atMost: streamVmdkSizeBound(image.size) }
            : { path: image.path, size: image.size },
          parallel: p.parallel ?? 10,
          ...(vmdk ? {} : { onProgress: (n: number) => progress.advance(n) }),
          log,
          signal,
        }).catch((e: unknown) => {
          if (e instanceof PlatformApiError && e.details.providerCode === 'NoSuchBucket')
            throw new ConfigError(`bucket ${staging.bucket} does not exist`, {
              hint: 'run `ore aws initialize` or give --bucket',
            });
          throw e;
        });
        const made = vmdk
          ? ` (a stream-optimized VMDK of ${vmdk.stats.bytesOut} bytes: ${vmdk.stats.zeroGrains} of ${vmdk.stats.grains} grains all zero)`
          : '';
        progress.done(
          `${url}: ${sent.parts} parts, ${sent.partsReused} already there, ${sent.bytesSent} bytes sent${made}`,
        );
      } finally {
        progress.done();
      }
    } else if (!(await headObject(clients, staging.bucket, staging.key, signal)))
      throw new ConfigError(`--source-object ${url}: no such object`);
    taskId = await importSnapshot(
      clients,
      {
        description: p.name,
        format: p.objectFormat === 'vmdk' ? 'VMDK' : 'RAW',
        bucket: staging.bucket,
        key: staging.key,
        roleName: importRoleName,
        tags: p.tags,
      },
      signal,
    );
    log.info(`importing ${url} as task ${taskId}`);
  }
  const id = taskId;
  const snapshotId = await pollUntil(`for import ${id} of ${url}`, wait, async () => {
    const [task] = await describeImportSnapshotTasks(clients, [id], signal);
    const detail = task?.SnapshotTaskDetail;
    const status = detail?.Status ?? '';
    if (status === 'completed' && detail?.SnapshotId) return detail.SnapshotId;
    if (['deleted', 'deleting', 'error'].includes(status) || /error|fail/i.test(detail?.StatusMessage ?? ''))
      throw new PlatformApiError(
        { platform: 'aws', operation: 'ImportSnapshot' },
        `import ${id} of ${url} ended ${status}: ${detail?.StatusMessage ?? 'no message'}`,
      );
    log.debug(`import ${id}: ${status} ${detail?.Progress ?? ''}%`);
    return undefined;
  });
  const keep = !p.deleteObject || Boolean(p.sourceObject);
  if (!keep) {
    await deleteObject(clients, staging.bucket, staging.key, signal);
    log.info(`deleted ${url}`);
  }
  return { snapshotId, objectKept: Boolean(p.sourceObject) || !p.deleteObject };
}
