import {
  DescribeImportSnapshotTasksCommand,
  DescribeSnapshotsCommand,
  ImportSnapshotCommand,
} from '@aws-sdk/client-ec2';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAwsClients } from '../src/api/clients.js';
import { type Moto, motoCredentials, startMoto } from '../src/testing/moto.js';

let moto: Moto;
beforeAll(async () => {
  moto = await startMoto();
  process.env.AWS_ACCESS_KEY_ID = motoCredentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = motoCredentials.secretAccessKey;
});
afterAll(async () => moto?.stop());
beforeEach(async () => moto.reset());

describe('the ImportSnapshot stand-in in front of moto', () => {
  it('imports an existing S3 object into a real moto snapshot, active then completed', async () => {
    const clients = createAwsClients(moto.options(), { maxAttempts: 1 });
    const s3 = await clients.s3();
    await s3.send(
      new CreateBucketCommand({
        Bucket: 'kola-images',
        CreateBucketConfiguration: { LocationConstraint: 'us-west-2' },
      }),
    );
    await s3.send(
      new PutObjectCommand({ Bucket: 'kola-images', Key: 'dir/disk.raw', Body: Buffer.alloc(4096, 1) }),
    );
    const ec2 = await clients.ec2();
    const started = await ec2.send(
      new ImportSnapshotCommand({
        Description: 'my-image',
        DiskContainer: { Format: 'RAW', UserBucket: { S3Bucket: 'kola-images', S3Key: 'dir/disk.raw' } },
      }),
    );
    expect(started.ImportTaskId).toMatch(/^import-snap-/);
    const first = await ec2.send(
      new DescribeImportSnapshotTasksCommand({ ImportTaskIds: [started.ImportTaskId!] }),
    );
    expect(first.ImportSnapshotTasks?.[0]?.SnapshotTaskDetail?.Status).toBe('active');
    const second = await ec2.send(
      new DescribeImportSnapshotTasksCommand({ ImportTaskIds: [started.ImportTaskId!] }),
    );
    const detail = second.ImportSnapshotTasks?.[0]?.SnapshotTaskDetail;
    expect(detail?.Status).toBe('completed');
    expect(detail?.DiskImageSize).toBe(4096);
    const snaps = await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [detail!.SnapshotId!] }));
    expect(snaps.Snapshots).toHaveLength(1);
    clients.destroy();
  });

  it('refuses a missing object as AWS does', async () => {
    const clients = createAwsClients(moto.options(), { maxAttempts: 1 });
    const ec2 = await clients.ec2();
    await expect(
      ec2.send(
        new ImportSnapshotCommand({
          DiskContainer: { Format: 'RAW', UserBucket: { S3Bucket: 'nope', S3Key: 'x' } },
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidParameter' });
    clients.destroy();
  });
});
