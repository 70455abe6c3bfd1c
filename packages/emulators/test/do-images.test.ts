import { createServer, type Server } from 'node:http';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type DoEmulator, startDoEmulator } from '../src/do/emulator.js';
import { expectNoViolations } from '../src/http/violations.js';
import { type DoAnswer, doFetch, pollUntil } from './support/do.js';
import { presignGet } from './support/presign.js';

// Custom images: the emulator reads the URL it is given, as DigitalOcean's importer does, so an
// upload to Spaces and a presigned URL are proven end to end; a URL that does not answer the image
// leaves it `deleted` with an error_message, as DigitalOcean does.

let emulator: DoEmulator;
let api: ReturnType<typeof doFetch>;
let s3: S3Client;
let files: Server;
let filesUrl: string;
const served: string[] = [];

/** A raw disk: an MBR boot signature, then zeros. */
const rawDisk = (bytes: number) => {
  const disk = Buffer.alloc(bytes);
  disk[510] = 0x55;
  disk[511] = 0xaa;
  return disk;
};

beforeAll(async () => {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  emulator = await startDoEmulator({ machines: 'none', timing: { importMs: 20 } });
  api = doFetch(emulator);
  s3 = new S3Client({
    endpoint: emulator.spaces.endpoint,
    region: emulator.spaces.region,
    forcePathStyle: true,
    credentials: {
      accessKeyId: emulator.spaces.accessKeyId,
      secretAccessKey: emulator.spaces.secretAccessKey,
    },
    maxAttempts: 1,
  });
  files = createServer((req, res) => {
    served.push(req.url ?? '');
    if (req.url === '/disk.img') return res.end(rawDisk(2 * 1024 * 1024));
    if (req.url === '/not-an-image') return res.end('<html>hello</html>');
    res.writeHead(404).end('no such file');
  });
  await new Promise<void>((resolve) => files.listen(0, '127.0.0.1', () => resolve()));
  filesUrl = `http://127.0.0.1:${(files.address() as { port: number }).port}`;
});
afterAll(async () => {
  s3?.destroy();
  files?.close();
  await emulator?.stop();
});
afterEach(() => expectNoViolations(emulator));

async function importImage(url: string, name = 'kola-custom'): Promise<DoAnswer> {
  const created = await api('POST', '/v2/images', {
    name,
    url,
    region: 'sfo2',
    distribution: 'Unknown',
    description: 'a test import',
    tags: ['mantle'],
  });
  expect(created.status).toBe(202);
  expect(created.body.image).toMatchObject({ name, status: 'NEW', type: 'custom', regions: ['sfo2'] });
  return pollUntil(
    () => api('GET', `/v2/images/${created.body.image.id}`),
    (a) => a.body.image.status !== 'NEW',
  );
}

describe('DigitalOcean custom images', () => {
  it('imports from a URL a local server answers, and droplets are made from it', async () => {
    const image = (await importImage(`${filesUrl}/disk.img`)).body.image;
    expect(served).toContain('/disk.img');
    expect(image).toMatchObject({
      status: 'available',
      error_message: '',
      tags: ['mantle'],
      min_disk_size: 1,
    });
    expect(image.size_gigabytes).toBeGreaterThan(0);
    expect(image.created_at).toMatch(/Z$/);
    expect((await api('GET', '/v2/images?private=true&tag_name=mantle')).body.images).toHaveLength(1);
    const droplet = await api('POST', '/v2/droplets', {
      name: 'kola-c',
      size: 's-1vcpu-1gb',
      image: image.id,
      region: 'sfo2',
    });
    expect(droplet.status).toBe(202);
    await api('DELETE', `/v2/droplets/${droplet.body.droplet.id}`);
    expect((await api('DELETE', `/v2/images/${image.id}`)).status).toBe(204);
    expect((await api('GET', `/v2/images/${image.id}`)).status).toBe(404);
  });

  it('imports an object uploaded to Spaces through its presigned URL', async () => {
    await s3.send(
      new PutObjectCommand({
        Bucket: emulator.spaces.bucket,
        Key: 'kola/disk.img',
        Body: rawDisk(1024 * 1024),
      }),
    );
    const url = presignGet({ ...emulator.spaces, key: 'kola/disk.img', expiresIn: 3600 });
    expect(url.startsWith(`${emulator.spaces.endpoint}/kola-images/kola/disk.img?`)).toBe(true);
    const image = (await importImage(url, 'kola-from-spaces')).body.image;
    expect(image.status).toBe('available');
    await api('DELETE', `/v2/images/${image.id}`);
  });

  it('leaves the image deleted, with an error_message, when the URL does not answer an image', async () => {
    const cases: [string, RegExp][] = [
      [`${filesUrl}/missing.img`, /answered 404/],
      [`${filesUrl}/not-an-image`, /not in a supported format/],
      ['http://127.0.0.1:1/nothing', /Unable to download the image from 127\.0\.0\.1:1/],
      [presignGet({ ...emulator.spaces, key: 'kola/nope.img', expiresIn: 3600 }), /answered 404/],
      [
        presignGet({
          ...emulator.spaces,
          key: 'kola/disk.img',
          expiresIn: 60,
          signedAt: new Date(Date.now() - 3600_000),
        }),
        /answered 403.*Request has expired/,
      ],
      [
        presignGet({
          ...emulator.spaces,
          accessKeyId: 'DO00WRONGKEY',
          key: 'kola/disk.img',
          expiresIn: 3600,
        }),
        /answered 403.*InvalidAccessKeyId/,
      ],
    ];
    for (const [url, message] of cases) {
      const image = (await importImage(url, 'kola-broken')).body.image;
      expect(image.status, url).toBe('deleted');
      expect(image.error_message).toMatch(message);
      // DigitalOcean refuses deleting an image whose import failed
      const again = await api('DELETE', `/v2/images/${image.id}`);
      expect(again.status).toBe(422);
      expect(again.body.message).toBe('Image Can not delete an already deleted image.');
      // and no droplet is made from it
      expect(
        (await api('POST', '/v2/droplets', { name: 'x', size: 's-1vcpu-1gb', image: image.id })).status,
      ).toBe(422);
    }
  });

  it('refuses an import without its name, url or region, and one for a region it does not have', async () => {
    for (const body of [
      { url: `${filesUrl}/disk.img`, region: 'sfo2' },
      { name: 'x', region: 'sfo2' },
      { name: 'x', url: `${filesUrl}/disk.img` },
      { name: 'x', url: `${filesUrl}/disk.img`, region: 'ams1' },
    ]) {
      const answer = await api('POST', '/v2/images', body);
      expect(answer.status).toBe(422);
      expect(answer.body.id).toBe('unprocessable_entity');
    }
    // the spec requires the three, so those are refused before the route (and recorded)
    expect(emulator.takeViolations().map((v) => v.problems[0])).toEqual([
      "/requestBody: must have required property 'name'",
      "/requestBody: must have required property 'url'",
      "/requestBody: must have required property 'region'",
    ]);
  });
});

describe('Spaces', () => {
  it('has the bucket, and refuses other keys and unsigned requests as Spaces does', async () => {
    await s3.send(new PutObjectCommand({ Bucket: emulator.spaces.bucket, Key: 'hello.txt', Body: 'hi' }));
    const got = await s3.send(new GetObjectCommand({ Bucket: emulator.spaces.bucket, Key: 'hello.txt' }));
    expect(await got.Body?.transformToString()).toBe('hi');
    const wrong = new S3Client({
      endpoint: emulator.spaces.endpoint,
      region: emulator.spaces.region,
      forcePathStyle: true,
      credentials: { accessKeyId: 'DO00OTHER', secretAccessKey: 'x' },
      maxAttempts: 1,
    });
    await expect(
      wrong.send(new GetObjectCommand({ Bucket: emulator.spaces.bucket, Key: 'hello.txt' })),
    ).rejects.toThrow(/access key/i);
    wrong.destroy();
    expect((await fetch(`${emulator.spaces.endpoint}/${emulator.spaces.bucket}/hello.txt`)).status).toBe(403);
  });
});
