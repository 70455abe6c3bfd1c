import { createHash } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DoClient } from '@mantle/platform-api-do';
import type { DoEmulator } from '../../src/do/emulator.js';
import type { MachineSpec } from '../../src/machines/backend.js';
import { ore, startOre } from './ore-process.js';

/** `ore do <verb> …` against the emulator, as an operator runs it (token and Spaces keys in the env). */
export function oreDo(emulator: DoEmulator, args: string[], env: Record<string, string> = {}) {
  return ore(['do', ...args, ...emulator.ore], { ...emulator.env, ...env });
}
export function startOreDo(emulator: DoEmulator, args: string[], env: Record<string, string> = {}) {
  return startOre(['do', ...args, ...emulator.ore], { ...emulator.env, ...env });
}

/** A typed client on the emulator, for the test's own reads and set-ups. */
export function clientOf(emulator: DoEmulator): DoClient {
  return new DoClient({ endpoint: emulator.endpoint, token: emulator.token, initialDelayMs: 10 });
}

export function spacesOf(emulator: DoEmulator): S3Client {
  const s = emulator.spaces;
  return new S3Client({
    endpoint: s.endpoint,
    region: s.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey },
  });
}

export async function objectKeys(emulator: DoEmulator, prefix = ''): Promise<string[]> {
  const answer = await spacesOf(emulator).send(
    new ListObjectsV2Command({ Bucket: emulator.spaces.bucket, Prefix: prefix }),
  );
  return (answer.Contents ?? []).map((o) => o.Key ?? '').sort();
}

export async function putObject(emulator: DoEmulator, key: string, body: string): Promise<void> {
  await spacesOf(emulator).send(
    new PutObjectCommand({ Bucket: emulator.spaces.bucket, Key: key, Body: body }),
  );
}

/** A raw disk of `bytes` (a pattern; an MBR signature, as importers want), with its sha256. */
export function rawDisk(bytes: number): Buffer {
  const disk = Buffer.alloc(bytes);
  for (let off = 0; off < bytes; off += 65536)
    disk.fill((off / 65536) % 251, off, Math.min(bytes, off + 65536));
  disk[510] = 0x55;
  disk[511] = 0xaa;
  return disk;
}

/** Writes rawDisk(bytes) to `path`; returns its sha256. */
export function writeImage(path: string, bytes: number): string {
  const disk = rawDisk(bytes);
  const fd = openSync(path, 'w');
  const hash = createHash('sha256');
  for (let off = 0; off < bytes; off += 65536) {
    const chunk = disk.subarray(off, Math.min(bytes, off + 65536));
    writeSync(fd, chunk);
    hash.update(chunk);
  }
  closeSync(fd);
  return hash.digest('hex');
}

/** An http server of the test's own that serves one body (the image a --url names). */
export async function serveBody(
  body: Buffer | string,
): Promise<{ url: (path: string) => string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    if (!req.url?.startsWith('/images/')) {
      res.writeHead(404);
      return res.end('not found');
    }
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/**
 * Records each droplet's metadata service as its machine starts: what the guest of the droplet
 * would read at 169.254.169.254. Tests that stand in for a guest read the userdata from it.
 */
export function recordMetadata(emulator: DoEmulator): Map<string, MachineSpec['metadata']> {
  const handlers = new Map<string, MachineSpec['metadata']>();
  const start = emulator.backend.start.bind(emulator.backend);
  (emulator.backend as { start: typeof start }).start = (spec) => {
    handlers.set(spec.instanceId, spec.metadata);
    return start(spec);
  };
  return handlers;
}

export async function userDataOf(
  handlers: Map<string, MachineSpec['metadata']>,
  dropletId: number,
): Promise<string> {
  const handler = handlers.get(String(dropletId));
  if (!handler) throw new Error(`droplet ${dropletId} has no machine yet`);
  const answer = await handler({
    method: 'GET',
    path: '/metadata/v1/user-data',
    headers: {},
    body: Buffer.alloc(0),
  });
  if (answer.status !== 200) throw new Error(`user-data: ${answer.status}`);
  return answer.body.toString();
}

/** Polls `check` every 50 ms until it returns a value (bounded). */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
