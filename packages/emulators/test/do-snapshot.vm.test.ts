import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createLogger, streamSink } from '@mantle/cluster';
import { ensureImage } from '@mantle/platform-api-qemu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DoEmulator, startDoEmulator } from '../src/do/emulator.js';
import { expectNoViolations } from '../src/http/violations.js';
import { userNetwork } from '../src/machines/qemu-argv.js';
import { cpioFile } from './support/cpio.js';
import { clientOf, eventually, objectKeys, startOreDo } from './support/do-ore.js';

// `ore do create-image --method snapshot` on real VMs: ore's helper droplet boots kola's systemd test
// image (Debian's Ignition, -platform digitalocean) with the Ignition config ore rendered; at shutdown
// its script writes the image, fetched over HTTP from this test, over its own disk and powers off;
// the emulator snapshots the powered-off disk, which must hold the image byte for byte.
//
// The test serves the image and a static busybox (the systemd image has none: the --busybox-url path)
// on 127.0.0.1; the guest reaches the host's loopback at its user network's gateway (slirp), so the
// URLs ore is given name that address. (A --file would be staged in Spaces behind a presigned URL
// naming 127.0.0.1, which is the guest's own loopback: --file is proven on `none` machines.)
const qemuMissing = spawnSync('qemu-system-x86_64', ['--version']).status !== 0;

const imageBytes = 3 * 1024 * 1024 + 4096;

/** Serves fixed bodies by path on 127.0.0.1, counting the GETs of each. */
async function serveFiles(files: Record<string, Buffer>) {
  const gets = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const body = files[req.url ?? ''];
    gets.set(req.url ?? '', (gets.get(req.url ?? '') ?? 0) + 1);
    if (!body || req.method !== 'GET') {
      res.writeHead(404);
      return res.end('not found');
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    /** The URL as the guest reaches it. */
    guestUrl: (path: string) => `http://${userNetwork.gateway}:${port}${path}`,
    gets,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

function readAt(path: string, offset: number, length: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const out = Buffer.alloc(length);
    const n = readSync(fd, out, 0, length, offset);
    return out.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

describe.skipIf(qemuMissing && !process.env.CI)(
  'ore do create-image --method snapshot on qemu machines',
  () => {
    let emulator: DoEmulator;
    let files: Awaited<ReturnType<typeof serveFiles>>;
    let busybox: Buffer;
    let testDisk: string;
    const image = randomBytes(imageBytes);
    // a raw disk with an MBR signature, as DigitalOcean's importers want one
    image[510] = 0x55;
    image[511] = 0xaa;

    beforeAll(async () => {
      const log = createLogger([streamSink(process.stderr, 'notice')]);
      const signal = AbortSignal.timeout(15 * 60_000);
      // Debian's busybox-static, as the minimal image's initramfs has it
      const minimal = await ensureImage('minimal', { log, signal });
      busybox = cpioFile(join(minimal.dir, minimal.initrd!), 'bin/busybox')!;
      expect(busybox?.length).toBeGreaterThan(100_000);
      const systemd = await ensureImage('systemd', { log, signal });
      testDisk = join(systemd.dir, systemd.disk!);
      files = await serveFiles({ '/images/vm-snap.raw': image, '/busybox': busybox });
      emulator = await startDoEmulator({
        machines: 'qemu',
        flavor: 'systemd',
        timing: { bootMs: 100, actionMs: 200 },
        log: (line) => process.stderr.write(`${line}\n`),
      });
    });
    afterAll(async () => {
      await emulator?.stop();
      await files?.close();
    });

    it(
      'the helper writes the image over its disk and powers off; the snapshot is the image; nothing is left',
      async () => {
        const started = Date.now();
        const run = startOreDo(emulator, [
          'create-image',
          '--name',
          'vm-snap',
          '--url',
          files.guestUrl('/images/vm-snap.raw'),
          '--method',
          'snapshot',
          '--busybox-url',
          files.guestUrl('/busybox'),
          '--busybox-sha256',
          createHash('sha256').update(busybox).digest('hex'),
          '--do-image',
          String(emulator.imageId),
          '--poll-interval',
          '1s',
          '--install-timeout',
          '10m',
        ]);
        const done = await run.done;
        const seconds = Math.round((Date.now() - started) / 1000);
        process.stderr.write(`do snapshot on qemu: ore create-image took ${seconds}s\n`);
        expect(done.code, done.stderr).toBe(0);
        const result = JSON.parse(done.stdout) as { id: number; name: string; regions: string[] };
        expect(result).toMatchObject({ name: 'vm-snap', regions: ['sfo2'] });
        expect(done.stderr).toMatch(/do: helper droplet \d+: off: the image is on its disk/);
        // Ignition fetched the busybox, the shutdown script the image: once each
        expect(files.gets.get('/busybox')).toBe(1);
        expect(files.gets.get('/images/vm-snap.raw')).toBe(1);

        const disk = emulator.snapshotDisk(result.id);
        expect(disk, 'the snapshot keeps the powered-off droplet disk').toBeDefined();
        // the droplet's disk is the test image's (2 GiB); the image fills its start byte for byte
        expect(statSync(disk!).size).toBe(statSync(testDisk).size);
        expect(readAt(disk!, 0, imageBytes).equals(image)).toBe(true);
        // past the image the disk keeps what was there (QEMU ignores the script's blkdiscard): the test
        // image's own bytes, so a disk larger than the image is not zeroed
        const after = readAt(testDisk, 64 * 1024 * 1024, 1024 * 1024);
        expect(
          after.some((b) => b !== 0),
          'the test image has data there',
        ).toBe(true);
        expect(readAt(disk!, 64 * 1024 * 1024, after.length).equals(after)).toBe(true);

        // no helper is left: droplet (and its VM), key, staged object
        const client = clientOf(emulator);
        const signal = AbortSignal.timeout(30_000);
        expect(emulator.droplets()).toEqual([]);
        expect(emulator.backend.live()).toEqual([]);
        expect(await client.sshKeys(signal)).toEqual([]);
        expect(await objectKeys(emulator, 'mantle-staging/')).toEqual([]);
        expectNoViolations(emulator);

        // the snapshot's disk goes with the image
        await client.deleteImage(result.id, signal);
        expect(emulator.snapshotDisk(result.id)).toBeUndefined();
        expect(existsSync(disk!)).toBe(false);
      },
      20 * 60_000,
    );

    it(
      'Ctrl-C while the helper boots: exit 130, no droplet, key, VM or snapshot is left',
      async () => {
        const client = clientOf(emulator);
        const run = startOreDo(emulator, [
          'create-image',
          '--name',
          'vm-snap-int',
          '--url',
          files.guestUrl('/images/vm-snap.raw'),
          '--method',
          'snapshot',
          '--busybox-url',
          files.guestUrl('/busybox'),
          '--busybox-sha256',
          createHash('sha256').update(busybox).digest('hex'),
          '--do-image',
          String(emulator.imageId),
          '--poll-interval',
          '1s',
        ]);
        await eventually('for the helper droplet to be active', async () =>
          /helper droplet \d+: active/.test(run.stderr()) ? true : undefined,
        );
        expect(emulator.backend.live()).toHaveLength(1);
        run.child.kill('SIGINT');
        const done = await run.done;
        expect(done.code, done.stderr).toBe(130);
        expect(done.stdout).toBe('');
        const signal = AbortSignal.timeout(30_000);
        expect(emulator.droplets()).toEqual([]);
        expect(emulator.backend.live()).toEqual([]);
        expect(await client.sshKeys(signal)).toEqual([]);
        // kola's test image is the account's only private image: no snapshot was made
        expect((await client.userImages(signal)).map((i) => i.id)).toEqual([emulator.imageId]);
        expectNoViolations(emulator);
      },
      10 * 60_000,
    );
  },
);
