import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ListSnapshotBlocksCommand } from '@aws-sdk/client-ebs';
import { DescribeImagesCommand } from '@aws-sdk/client-ec2';
import { beforeEach, describe, expect, it } from 'vitest';
import type { AwsClients } from '../src/api/clients.js';
import type { Moto } from '../src/testing/moto.js';
import { pattern, sparseImage, useMotoPerFile } from './ore-verbs.js';

/** The verbs through the real `ore` process (built dist), as an operator runs them. */
const ore = fileURLToPath(new URL('../../ore/bin/ore.js', import.meta.url));
let moto: Moto;
let clients: AwsClients;
let dir: string;

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [ore, 'aws', ...args],
      { env: { ...process.env, ...moto.env() }, timeout: 50_000 },
      (error, stdout, stderr) =>
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const fixture = useMotoPerFile('ore-cli-');
beforeEach(() => {
  ({ moto, clients, dir } = fixture);
});

describe('ore aws (process)', () => {
  it('initialize, upload by ebs and by s3, copy-image, list and delete', async () => {
    const image = join(dir, 'disk.raw');
    sparseImage(image, 3 * 1024 * 1024, [{ offset: 1024 * 1024, data: pattern(8192, 9) }]);
    const init = await run(['initialize', '--region', 'us-west-2', '--json']);
    expect(init.code).toBe(0);
    expect(JSON.parse(init.stdout).bucket.status).toBe('created');

    const ebs = await run(['upload', '--file', image, '--name', 'cli-ebs', '--expires-in', '1d', '--json']);
    expect(ebs.stderr).not.toMatch(/error/i);
    expect(ebs.code).toBe(0);
    const byEbs = JSON.parse(ebs.stdout) as { ami: string; snapshot: string };
    const blocks = await (await clients.ebs()).send(
      new ListSnapshotBlocksCommand({ SnapshotId: byEbs.snapshot }),
    );
    expect(blocks.Blocks?.map((b) => Number(b.BlockIndex))).toEqual([2]);

    const s3 = await run([
      'upload',
      '--file',
      image,
      '--name',
      'cli-s3',
      '--method',
      's3',
      '--poll-interval',
      '0.05s',
      '--json',
    ]);
    expect(s3.code).toBe(0);
    // the raw image went as a VMDK of its one grain that holds data (48 grains of 64 KiB in 3 MiB)
    expect(s3.stderr).toMatch(
      /cli-s3\.vmdk: 1 parts, 0 already there, \d+ bytes sent \(a stream-optimized VMDK of \d+ bytes: 47 of 48 grains all zero\)/,
    );
    const byS3 = JSON.parse(s3.stdout) as { ami: string };
    expect(byS3.ami).toMatch(/^ami-/);

    const list = await run(['list', '--json']);
    expect(list.code).toBe(0);
    const listed = JSON.parse(list.stdout) as { images: Array<{ id: string; expiresAt?: string }> };
    expect(listed.images.map((i) => i.id).sort()).toEqual([byEbs.ami, byS3.ami].sort());

    const copied = await run([
      'copy-image',
      '--image',
      byEbs.ami,
      'us-east-1',
      '--poll-interval',
      '0.05s',
      '--json',
    ]);
    expect(copied.code, copied.stderr).toBe(0);
    const inEast = (JSON.parse(copied.stdout) as Record<string, { ami: string; snapshot: string }>)[
      'us-east-1'
    ];
    expect(inEast?.ami).toMatch(/^ami-/);
    const eastClients = clients.inRegion('us-east-1');
    const east = await eastClients.ec2();
    const eastImages = (await east.send(new DescribeImagesCommand({ Owners: ['self'] }))).Images ?? [];
    eastClients.destroy();
    expect(eastImages.map((i) => i.ImageId)).toEqual([inEast?.ami]);

    const del = await run(['delete', 'cli-s3', '--json']);
    expect(del.code).toBe(0);
    const left =
      (await (await clients.ec2()).send(new DescribeImagesCommand({ Owners: ['self'] }))).Images ?? [];
    expect(left.map((i) => i.ImageId)).toEqual([byEbs.ami]);
  });

  it('bad input: one line on stderr, exit 2, no request made', async () => {
    const odd = join(dir, 'odd.raw');
    writeFileSync(odd, Buffer.alloc(1000, 1));
    for (const args of [
      ['upload', '--file', join(dir, 'missing.raw'), '--name', 'x-image'],
      ['upload', '--file', odd, '--name', 'x-image'],
      ['upload', '--file', odd, '--name', 'x-image', '--tags', 'novalue'],
    ]) {
      const r = await run(args);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stdout).toBe('');
    }
    expect(moto.requestCounts().size).toBe(0);
  });
});
