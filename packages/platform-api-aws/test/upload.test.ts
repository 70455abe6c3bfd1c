import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { GetSnapshotBlockCommand, ListSnapshotBlocksCommand } from '@aws-sdk/client-ebs';
import {
  DescribeImagesCommand,
  DescribeImportSnapshotTasksCommand,
  DescribeSnapshotsCommand,
} from '@aws-sdk/client-ec2';
import {
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { ConfigError, Logger, PlatformApiError } from '@mantle/cluster';
import { streamOptimizedVmdk, streamVmdkSizeBound } from '@mantle/cluster/stream-vmdk';
import { beforeEach, describe, expect, it } from 'vitest';
import { type AwsClients, endpointFor } from '../src/api/clients.js';
import type { Moto } from '../src/testing/moto.js';
import { uploadNonZeroBlocks } from '../src/upload/blocks.js';
import { crc32Base64, multipartUpload } from '../src/upload/multipart.js';
import { pattern, runVerb, sparseImage, useMotoPerFile } from './ore-verbs.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const block = 512 * KiB;
let moto: Moto;
let clients: AwsClients;
let dir: string;
const account = '123456789012';
const bucket = `kola-images-${account}-us-west-2`;

const fixture = useMotoPerFile('ore-upload-');
beforeEach(() => {
  ({ moto, clients, dir } = fixture);
});

async function makeBucket() {
  await (await clients.s3()).send(
    new CreateBucketCommand({
      Bucket: bucket,
      CreateBucketConfiguration: { LocationConstraint: 'us-west-2' },
    }),
  );
}

/** 4 MiB + 512 B: blocks 0, 3 and the partial last block 8 hold data; the rest are holes. */
function rawImage(name = 'disk.raw') {
  const path = join(dir, name);
  const writes = [
    { offset: 0, data: pattern(block, 1) },
    { offset: 3 * block + 4096, data: pattern(512, 2) },
    { offset: 4 * MiB, data: pattern(512, 3) },
  ];
  sparseImage(path, 4 * MiB + 512, writes);
  return { path, size: 4 * MiB + 512, nonZeroBlocks: [0, 3, 8] };
}

// qemu-img reads back what was uploaded (installed with qemu; the check skips without it)
const qemuImg = spawnSync('qemu-img', ['--version']).status === 0;

const tagMap = (tags?: Array<{ Key?: string; Value?: string }>) =>
  Object.fromEntries((tags ?? []).map((t) => [t.Key, t.Value]));

describe('ore aws upload --method ebs', () => {
  it('sends only the non-zero blocks with their checksums and registers a tagged AMI', async () => {
    const img = rawImage();
    const run = await runVerb(moto, 'upload', {
      file: img.path,
      name: 'test-image-1',
      tags: 'team=os,channel=dev',
      expiresIn: '2d',
    });
    expect(run.error).toBeUndefined();
    expect(run.code).toBe(0);
    const result = run.results[0] as { ami: string; snapshot: string; s3Object?: string };
    expect(result.ami).toMatch(/^ami-/);
    expect(result.snapshot).toMatch(/^snap-/);
    expect(result.s3Object).toBeUndefined();

    const ebs = await clients.ebs();
    const listed = await ebs.send(new ListSnapshotBlocksCommand({ SnapshotId: result.snapshot }));
    // moto answers BlockIndex as a string; AWS as a number.
    expect((listed.Blocks ?? []).map((b) => Number(b.BlockIndex)).sort((a, b) => a - b)).toEqual(
      img.nonZeroBlocks,
    );
    const file = readFileSync(img.path);
    for (const b of listed.Blocks ?? []) {
      const got = await ebs.send(
        new GetSnapshotBlockCommand({
          SnapshotId: result.snapshot,
          BlockIndex: b.BlockIndex!,
          BlockToken: b.BlockToken!,
        }),
      );
      const data = Buffer.from(await got.BlockData!.transformToByteArray());
      const expected = Buffer.alloc(block);
      file.copy(
        expected,
        0,
        Number(b.BlockIndex) * block,
        Math.min(file.length, (Number(b.BlockIndex) + 1) * block),
      );
      expect(data.equals(expected)).toBe(true);
      expect(got.Checksum).toBe(createHash('sha256').update(expected).digest('base64'));
      expect(got.ChecksumAlgorithm).toBe('SHA256');
    }
    expect(moto.requestCounts().get('ebs:PUT object')).toBe(3);

    const ec2 = await clients.ec2();
    const [ami] = (await ec2.send(new DescribeImagesCommand({ ImageIds: [result.ami] }))).Images ?? [];
    expect(ami?.Name).toBe('test-image-1');
    const amiTags = tagMap(ami?.Tags);
    expect(amiTags).toMatchObject({ CreatedBy: 'mantle', Name: 'test-image-1', team: 'os', channel: 'dev' });
    const expires = Date.parse(amiTags['expires-at']!);
    expect(Math.abs(expires - (Date.now() + 2 * 86_400_000))).toBeLessThan(60_000);
    const [snap] =
      (await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [result.snapshot] }))).Snapshots ?? [];
    expect(tagMap(snap?.Tags)).toMatchObject({ CreatedBy: 'mantle', Name: 'test-image-1', team: 'os' });
    expect(snap?.State).toBe('completed');

    expect(run.progress).toEqual([
      { label: 'upload test-image-1', total: img.size, advanced: img.size, done: true },
    ]);
  });

  it('reuses the AMI and snapshot of an earlier run; --force replaces them', async () => {
    const img = rawImage();
    const first = (await runVerb(moto, 'upload', { file: img.path, name: 'again' })).results[0] as {
      ami: string;
      snapshot: string;
    };
    const puts = moto.requestCounts().get('ebs:PUT object');
    const second = await runVerb(moto, 'upload', { file: img.path, name: 'again' });
    expect(second.code).toBe(0);
    expect(second.results[0]).toEqual(first);
    expect(moto.requestCounts().get('ebs:PUT object')).toBe(puts);
    expect(second.log).toMatch(/reusing AMI/);

    const forced = await runVerb(moto, 'upload', { file: img.path, name: 'again', force: true });
    expect(forced.error).toBeUndefined();
    const third = forced.results[0] as { ami: string; snapshot: string };
    expect(third.ami).not.toBe(first.ami);
    expect(third.snapshot).not.toBe(first.snapshot);
    const ec2 = await clients.ec2();
    const images = (await ec2.send(new DescribeImagesCommand({ Owners: ['self'] }))).Images ?? [];
    expect(images.map((i) => i.ImageId)).toEqual([third.ami]);
    const snaps = (
      await ec2.send(
        new DescribeSnapshotsCommand({
          OwnerIds: ['self'],
          Filters: [{ Name: 'tag:Name', Values: ['again'] }],
        }),
      )
    ).Snapshots;
    expect(snaps?.map((s) => s.SnapshotId)).toEqual([third.snapshot]);
  });

  it('refuses to replace an AMI of that name that ore did not make, even with --force', async () => {
    const ec2 = await clients.ec2();
    const { RegisterImageCommand } = await import('@aws-sdk/client-ec2');
    const foreign = await ec2.send(new RegisterImageCommand({ Name: 'theirs', RootDeviceName: '/dev/xvda' }));
    const img = rawImage();
    const run = await runVerb(moto, 'upload', { file: img.path, name: 'theirs', force: true });
    expect(run.code).toBe(2);
    expect(run.error?.message).toMatch(/not made by ore/);
    const images = (await ec2.send(new DescribeImagesCommand({ Owners: ['self'] }))).Images ?? [];
    expect(images.map((i) => i.ImageId)).toEqual([foreign.ImageId]);
    expect(moto.requestCounts().get('ebs:POST object') ?? 0).toBe(0);
  });
});

describe('ore aws upload --method s3', () => {
  const importedFormats = async () => {
    const tasks = await (await clients.ec2()).send(new DescribeImportSnapshotTasksCommand({}));
    return (tasks.ImportSnapshotTasks ?? []).map((t) => t.SnapshotTaskDetail?.Format);
  };

  it('sends a raw image as a stream-optimized VMDK, imports, registers, and keeps the object with --delete-object=false', async () => {
    await makeBucket();
    const img = rawImage();
    const run = await runVerb(moto, 'upload', {
      file: img.path,
      name: 'via-s3',
      method: 's3',
      deleteObject: false,
      pollInterval: '0.05s',
      amiName: 'via-s3-ami',
      grantUser: ['210987654321'],
    });
    expect(run.error).toBeUndefined();
    const result = run.results[0] as { ami: string; snapshot: string; s3Object: string };
    expect(result.s3Object).toBe(`s3://${bucket}/via-s3.vmdk`);
    const s3 = await clients.s3();
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'via-s3.vmdk' }));
    const object = Buffer.from(await got.Body!.transformToByteArray());
    expect(object.subarray(0, 4).toString('latin1')).toBe('KDMV');
    // header and descriptor (64 KiB), the 10 grains of 64 KiB that hold data (this data does not
    // deflate), a table, the directory, the footer: not the 64 grains of the raw image
    expect(object.length).toBeLessThan(64 * KiB + 10 * 65 * KiB + 4 * KiB);
    if (qemuImg) {
      writeFileSync(join(dir, 'got.vmdk'), object);
      const back = join(dir, 'got.raw');
      const convert = spawnSync('qemu-img', [
        'convert',
        '-f',
        'vmdk',
        '-O',
        'raw',
        join(dir, 'got.vmdk'),
        back,
      ]);
      expect(convert.status, String(convert.stderr)).toBe(0);
      expect(readFileSync(back).equals(readFileSync(img.path))).toBe(true);
    }
    expect(await importedFormats()).toEqual(['VMDK']);
    expect(moto.requestCounts().get('ec2:ImportSnapshot')).toBe(1);
    expect(moto.requestCounts().get('ec2:DescribeImportSnapshotTasks')).toBeGreaterThanOrEqual(2);
    const ec2 = await clients.ec2();
    const [ami] = (await ec2.send(new DescribeImagesCommand({ ImageIds: [result.ami] }))).Images ?? [];
    expect(ami?.Name).toBe('via-s3-ami');
    const [snap] =
      (await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [result.snapshot] }))).Snapshots ?? [];
    expect(tagMap(snap?.Tags)).toMatchObject({ CreatedBy: 'mantle', Name: 'via-s3' });
    const { DescribeImageAttributeCommand } = await import('@aws-sdk/client-ec2');
    const perms = await ec2.send(
      new DescribeImageAttributeCommand({ ImageId: result.ami, Attribute: 'launchPermission' }),
    );
    expect(perms.LaunchPermissions?.map((p) => p.UserId)).toEqual(['210987654321']);
  });

  it('sends S3 straight to $AWS_ENDPOINT_URL_S3 while EC2 keeps --aws-endpoint', async () => {
    await makeBucket();
    const img = rawImage();
    process.env.AWS_ENDPOINT_URL_S3 = moto.motoEndpoint;
    try {
      const run = await runVerb(moto, 'upload', {
        file: img.path,
        name: 'direct-s3',
        method: 's3',
        objectFormat: 'raw',
        deleteObject: false,
        pollInterval: '0.05s',
      });
      expect(run.error).toBeUndefined();
    } finally {
      delete process.env.AWS_ENDPOINT_URL_S3;
    }
    // the stand-in in front of moto saw the EC2 calls and, after creating the bucket, no S3 call
    const counted = [...moto.requestCounts().keys()];
    expect(counted.filter((op) => op.startsWith('s3:'))).toEqual(['s3:PUT bucket']);
    expect(moto.requestCounts().get('ec2:ImportSnapshot')).toBe(1);
    const got = await (await clients.s3()).send(
      new HeadObjectCommand({ Bucket: bucket, Key: 'direct-s3.raw' }),
    );
    expect(got.ContentLength).toBe(img.size);
    expect(await importedFormats()).toEqual(['RAW']);
  });

  it('takes the most specific endpoint, and names a bad one', () => {
    const options = { endpoint: 'http://127.0.0.1:1' };
    expect(endpointFor(options, 'S3', {})).toBe('http://127.0.0.1:1');
    expect(endpointFor(options, 'S3', { AWS_ENDPOINT_URL_S3: '' })).toBe('http://127.0.0.1:1');
    expect(endpointFor(options, 'S3', { AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:2' })).toBe(
      'http://127.0.0.1:2',
    );
    expect(endpointFor(options, 'EC2', { AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:2' })).toBe(
      'http://127.0.0.1:1',
    );
    expect(endpointFor({}, 'EBS', {})).toBeUndefined();
    expect(() => endpointFor({}, 'EBS', { AWS_ENDPOINT_URL_EBS: 'not a url' })).toThrow(ConfigError);
    expect(() => endpointFor({}, 'EBS', { AWS_ENDPOINT_URL_EBS: 'ftp://x' })).toThrow(
      '$AWS_ENDPOINT_URL_EBS: "ftp://x" is not an http(s) URL',
    );
  });

  it('deletes the staging object by default and says so when the bucket is missing', async () => {
    const img = rawImage();
    const missing = await runVerb(moto, 'upload', { file: img.path, name: 'nobucket', method: 's3' });
    expect(missing.code).toBe(2);
    expect(missing.error?.message).toMatch(/does not exist/);
    await makeBucket();
    const run = await runVerb(moto, 'upload', {
      file: img.path,
      name: 'gone',
      method: 's3',
      pollInterval: '0.05s',
    });
    expect(run.error).toBeUndefined();
    expect((run.results[0] as { s3Object?: string }).s3Object).toBeUndefined();
    const s3 = await clients.s3();
    await expect(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'gone.vmdk' }))).rejects.toMatchObject({
      $metadata: { httpStatusCode: 404 },
    });
  });

  it('fails an import of an object that is not what --object-format says, with the reason', async () => {
    await makeBucket();
    const img = rawImage();
    const staged = await runVerb(moto, 'upload', {
      file: img.path,
      name: 'staged',
      method: 's3',
      objectFormat: 'raw',
      deleteObject: false,
      pollInterval: '0.05s',
    });
    expect(staged.error).toBeUndefined();
    const run = await runVerb(moto, 'upload', {
      name: 'mislabelled',
      sourceObject: `s3://${bucket}/staged.raw`,
      objectFormat: 'vmdk',
      pollInterval: '0.05s',
    });
    expect(run.code).not.toBe(0);
    expect(run.error?.message).toMatch(
      /import-snap-\S+ of s3:\/\/\S+\/staged\.raw ended deleted: ClientError: Disk validation failed/,
    );
    expect(run.results).toEqual([]);
    // the source object is never deleted, failed import or not
    const head = await (await clients.s3()).send(
      new HeadObjectCommand({ Bucket: bucket, Key: 'staged.raw' }),
    );
    expect(head.ContentLength).toBe(img.size);
  });

  it('takes a VMDK by S3 and refuses it for --method ebs', async () => {
    const path = join(dir, 'disk.vmdk');
    const header = Buffer.alloc(64 * KiB);
    header.write('KDMV', 0, 'latin1');
    header.writeUInt32LE(1, 4);
    header.writeBigUInt64LE(BigInt((10 * 1024 ** 3) / 512), 12); // 10 GiB disk
    writeFileSync(path, header);
    const refused = await runVerb(moto, 'upload', { file: path, name: 'vm-image', method: 'ebs' });
    expect(refused.code).toBe(2);
    expect(refused.error?.message).toMatch(/VMDK/);
    expect(moto.requestCounts().size).toBe(0);
    await makeBucket();
    const run = await runVerb(moto, 'upload', {
      file: path,
      name: 'vm-image',
      pollInterval: '0.05s',
      deleteObject: false,
    });
    expect(run.error).toBeUndefined();
    expect((run.results[0] as { s3Object: string }).s3Object).toBe(`s3://${bucket}/vm-image.vmdk`);
  });

  async function interruptedUpload(key: string, parts: Buffer[], checksum: boolean): Promise<string> {
    const s3 = await clients.s3();
    const algorithm = checksum ? { ChecksumAlgorithm: 'CRC32' as const } : {};
    const { UploadId } = await s3.send(
      new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ...algorithm }),
    );
    for (const [i, body] of parts.entries())
      await s3.send(
        new UploadPartCommand({
          Bucket: bucket,
          Key: key,
          UploadId,
          PartNumber: i + 1,
          Body: body,
          ...algorithm,
        }),
      );
    return UploadId!;
  }

  function resumeImage(): { path: string; file: Buffer } {
    const path = join(dir, 'resume.raw');
    sparseImage(path, 11 * MiB, [
      { offset: 0, data: pattern(MiB, 4) },
      { offset: 6 * MiB, data: pattern(MiB, 5) },
      { offset: 10 * MiB + 512, data: pattern(512, 6) },
    ]);
    return { path, file: readFileSync(path) };
  }

  const upload = (path: string, key: string, size: number) =>
    multipartUpload({
      clients,
      bucket,
      key,
      body: { path, size },
      parallel: 2,
      partSize: 5 * MiB,
      log: new Logger([]),
      signal: AbortSignal.timeout(30_000),
    });

  it("spells a part's CRC32 as S3 and the SDKs do", () => {
    // x-amz-checksum-crc32 that the JS SDK and boto3 both send for 8 MiB of zeros
    expect(crc32Base64(Buffer.alloc(8 * MiB))).toBe('GtK8RQ==');
    expect(crc32Base64(Buffer.from('123456789'))).toBe(Buffer.from('cbf43926', 'hex').toString('base64'));
  });

  it('resumes an interrupted multipart upload, sending only the parts S3 does not have', async () => {
    await makeBucket();
    const { path, file } = resumeImage();
    const key = 'resume.raw';
    // Part 2 holds other bytes (a different file was being uploaded): it must be sent again.
    await interruptedUpload(key, [file.subarray(0, 5 * MiB), Buffer.alloc(5 * MiB, 7)], true);
    // what CompleteMultipartUpload is sent: S3 rejects it unless every part repeats its CRC32, the
    // reused one too (moto neither lists nor checks them, so look at the request itself)
    const s3 = await clients.s3();
    const completed: Array<{ PartNumber?: number; ChecksumCRC32?: string }> = [];
    s3.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'CompleteMultipartUploadCommand')
          completed.push(
            ...((args.input as { MultipartUpload?: { Parts?: typeof completed } }).MultipartUpload?.Parts ??
              []),
          );
        return next(args);
      },
      { step: 'initialize', name: 'captureCompleteParts' },
    );
    let result: Awaited<ReturnType<typeof upload>>;
    try {
      result = await upload(path, key, file.length);
    } finally {
      s3.middlewareStack.remove('captureCompleteParts');
    }
    expect(result).toEqual({ parts: 3, partsReused: 1, bytesSent: 6 * MiB });
    const crc = (b: Buffer) => {
      const out = Buffer.alloc(4);
      out.writeUInt32BE(zlibCrc32(b));
      return out.toString('base64');
    };
    expect(completed).toEqual(
      [0, 1, 2].map((i) => ({
        PartNumber: i + 1,
        ETag: expect.any(String),
        ChecksumCRC32: crc(file.subarray(i * 5 * MiB, (i + 1) * 5 * MiB)),
      })),
    );
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(file)).toBe(true);
    const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    expect(uploads.Uploads ?? []).toEqual([]);
  });

  it('resumes an interrupted upload of a VMDK stream: the stream is the same bytes again', async () => {
    await makeBucket();
    const path = join(dir, 'stream.raw');
    // 12 MiB that do not deflate: the stream takes three 5 MiB parts
    const data = randomBytes(12 * MiB);
    sparseImage(path, 20 * MiB, [{ offset: 4 * MiB, data }]);
    const stream = () =>
      streamOptimizedVmdk({ path, size: 20 * MiB, identity: 'same', signal: AbortSignal.timeout(30_000) });
    const whole: Buffer[] = [];
    for await (const c of stream().chunks) whole.push(c);
    const vmdk = Buffer.concat(whole);
    expect(vmdk.length).toBeGreaterThan(10 * MiB);
    const key = 'stream.vmdk';
    await interruptedUpload(key, [vmdk.subarray(0, 5 * MiB), Buffer.alloc(5 * MiB, 7)], true);
    const result = await multipartUpload({
      clients,
      bucket,
      key,
      body: { generated: stream().chunks, atMost: streamVmdkSizeBound(20 * MiB) },
      parallel: 2,
      partSize: 5 * MiB,
      log: new Logger([]),
      signal: AbortSignal.timeout(30_000),
    });
    expect(result).toEqual({ parts: 3, partsReused: 1, bytesSent: vmdk.length - 5 * MiB });
    const got = await (await clients.s3()).send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(vmdk)).toBe(true);
  });

  it('stops a VMDK stream when aborted, leaving the unfinished upload to resume and no object', async () => {
    await makeBucket();
    const path = join(dir, 'abort.raw');
    sparseImage(path, 24 * MiB, [{ offset: 0, data: randomBytes(20 * MiB) }]);
    const abort = new AbortController();
    let readAfterAbort = 0;
    const { chunks } = streamOptimizedVmdk({
      path,
      size: 24 * MiB,
      identity: 'abort',
      onRead: (n) => {
        if (abort.signal.aborted) readAfterAbort += n;
      },
      signal: abort.signal,
    });
    const upload = multipartUpload({
      clients,
      bucket,
      key: 'abort.vmdk',
      body: { generated: chunks, atMost: streamVmdkSizeBound(24 * MiB) },
      parallel: 1,
      partSize: 5 * MiB,
      onProgress: () => abort.abort(new Error('interrupted')), // after the first part
      log: new Logger([]),
      signal: abort.signal,
    });
    await expect(upload).rejects.toThrow();
    // the generator stopped within the reads already ahead of the parts (2 of 4 MiB)
    expect(readAfterAbort).toBeLessThanOrEqual(8 * MiB);
    const s3 = await clients.s3();
    const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    expect((uploads.Uploads ?? []).map((u) => u.Key)).toEqual(['abort.vmdk']);
    await expect(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'abort.vmdk' }))).rejects.toMatchObject(
      {
        $metadata: { httpStatusCode: 404 },
      },
    );
  });

  it('completes with a composite CRC32 of the parts, and starts again over an upload made without one', async () => {
    await makeBucket();
    const { path, file } = resumeImage();
    const key = 'resume.raw';
    // another tool's (or an older ore's) upload: its parts have no CRC32 to complete with
    const foreign = await interruptedUpload(key, [file.subarray(0, 5 * MiB)], false);
    const result = await upload(path, key, file.length);
    expect(result).toEqual({ parts: 3, partsReused: 0, bytesSent: file.length });
    const s3 = await clients.s3();
    const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    expect((uploads.Uploads ?? []).map((u) => u.UploadId)).not.toContain(foreign);
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' }));
    // moto leaves out the composite's "-3" part count that S3 appends
    expect(head.ChecksumCRC32).toMatch(/^[A-Za-z0-9+/]{6}==(-3)?$/);
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(file)).toBe(true);
  });
});

describe('ore aws upload: bad input is one line, exit 2, nothing touched', () => {
  const cases: Array<[string, () => Record<string, unknown>, RegExp]> = [
    ['a missing file', () => ({ file: join(dir, 'nope.raw'), name: 'x-image' }), /nope\.raw: no such file/],
    ['a directory', () => ({ file: dir, name: 'x-image' }), /is a directory|not a regular file/],
    [
      'a qcow2 image',
      () => {
        const p = join(dir, 'q.img');
        writeFileSync(p, Buffer.concat([Buffer.from('QFI\xfb', 'latin1'), Buffer.alloc(1020)]));
        return { file: p, name: 'x-image' };
      },
      /qcow2/,
    ],
    [
      'a size that is not a multiple of 512',
      () => {
        const p = join(dir, 'odd.raw');
        writeFileSync(p, Buffer.alloc(1000, 1));
        return { file: p, name: 'x-image' };
      },
      /not a multiple of 512/,
    ],
    [
      'bad --tags',
      () => ({ file: rawImage().path, name: 'x-image', tags: 'a=b,oops' }),
      /--tags .*"oops" is not key=value/,
    ],
    [
      'bad --expires-in',
      () => ({ file: rawImage().path, name: 'x-image', expiresIn: 'soon' }),
      /--expires-in: "soon" is not a duration/,
    ],
    [
      '--object-format with --method ebs',
      () => ({ file: rawImage().path, name: 'x-image', method: 'ebs', objectFormat: 'raw' }),
      /--object-format: only for --method s3/,
    ],
    [
      '--object-format raw for a VMDK',
      () => {
        const p = join(dir, 'real.vmdk');
        const header = Buffer.alloc(4096);
        header.write('KDMV', 0, 'latin1');
        header.writeBigUInt64LE(8n, 12);
        writeFileSync(p, header);
        return { file: p, name: 'x-image', objectFormat: 'raw' };
      },
      /--object-format raw: .*real\.vmdk is a VMDK/,
    ],
    [
      'a raw image over 2 TiB as one VMDK',
      () => {
        const p = join(dir, 'huge.raw');
        sparseImage(p, 3 * 1024 ** 4, []);
        return { file: p, name: 'x-image', method: 's3' };
      },
      /--object-format vmdk: .*huge\.raw is over 2 TiB.*use --object-format raw or --method ebs/,
    ],
    [
      'a .vmdk without the magic',
      () => {
        const p = join(dir, 'fake.vmdk');
        writeFileSync(p, Buffer.alloc(4096, 1));
        return { file: p, name: 'x-image' };
      },
      /no VMDK magic/,
    ],
    [
      '--disk-size-gib below the disk the VMDK describes',
      () => {
        const p = join(dir, 'big.vmdk');
        const header = Buffer.alloc(4096);
        header.write('KDMV', 0, 'latin1');
        header.writeBigUInt64LE(BigInt((10 * 1024 ** 3) / 512), 12);
        writeFileSync(p, header);
        return { file: p, name: 'x-image', diskSizeGib: 8 };
      },
      /--disk-size-gib 8: the image needs at least 10 GiB/,
    ],
  ];
  for (const [what, options, message] of cases)
    it(`refuses ${what}`, async () => {
      mkdirSync(dir, { recursive: true });
      const run = await runVerb(moto, 'upload', options()).catch((e: unknown) => ({
        code: 2,
        error: e as Error,
        results: [],
      }));
      expect(run.code).toBe(2);
      expect(run.error?.message).toMatch(message);
      expect(run.error?.message).not.toContain('\n');
      expect(run.results).toEqual([]);
      expect(moto.requestCounts().size).toBe(0);
    });
});

describe('the block engine', () => {
  it('stops at the first failing block, retries 5xx, and never holds more than `parallel` blocks', async () => {
    const img = rawImage();
    let calls = 0;
    let inFlight = 0;
    let maxInFlight = 0;
    const failing = uploadNonZeroBlocks({
      path: img.path,
      size: img.size,
      blockSize: block,
      parallel: 2,
      signal: AbortSignal.timeout(10_000),
      put: async (index) => {
        calls++;
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((r) => setTimeout(r, 5));
        inFlight--;
        if (index === 3)
          throw new PlatformApiError(
            { platform: 'aws', operation: 'PutSnapshotBlock', status: 400 },
            'bad block',
          );
      },
    });
    await expect(failing).rejects.toThrow(/bad block/);
    expect(maxInFlight).toBeLessThanOrEqual(2);

    calls = 0;
    let failedOnce = false;
    const ok = await uploadNonZeroBlocks({
      path: img.path,
      size: img.size,
      blockSize: block,
      parallel: 4,
      signal: AbortSignal.timeout(10_000),
      put: async (index) => {
        calls++;
        if (index === 8 && !failedOnce) {
          failedOnce = true;
          throw new PlatformApiError(
            { platform: 'aws', operation: 'PutSnapshotBlock', status: 503 },
            'slow down',
          );
        }
      },
    });
    expect(ok.blocksWritten).toBe(3);
    expect(ok.totalBlocks).toBe(9);
    expect(calls).toBe(4);
    expect(ok.bytesSent).toBe(3 * block);
  });
});
