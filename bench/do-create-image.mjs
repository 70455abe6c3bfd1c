#!/usr/bin/env node
// API requests (by operation) and wall time of each `ore do create-image` method, the real ore
// process against the DO emulator (`none` machines): --method custom from --url (a local http
// server) and from --file (staged in Spaces), and --method snapshot from --file, where the bench
// stands in for the helper's guest: once the helper droplet is active it powers it off through
// the API, as the guest's install script does after writing the image. No goal beyond the figures.
// Run `pnpm run build` first (imports dist, spawns packages/ore/bin). SIZE=bytes of the image (8 MiB).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const load = (p) => import(join(root, p));
const { startDoEmulator } = await load('packages/emulators/dist/index.js');
const { DoClient } = await load('packages/platform-api-do/dist/index.js');

const size = Number(process.env.SIZE ?? 8 * 1024 * 1024);
const emulator = await startDoEmulator({
  machines: 'none',
  timing: { bootMs: 100, actionMs: 200, importMs: 1000 },
  log: () => {},
});
const dir = mkdtempSync(join(tmpdir(), 'bench-do-image-'));
const client = new DoClient({ endpoint: emulator.endpoint, token: emulator.token, initialDelayMs: 10 });
const image = Buffer.concat([randomBytes(size / 2), Buffer.alloc(size / 2)]);
// an MBR signature, which the importer checks for
image[510] = 0x55;
image[511] = 0xaa;
const file = join(dir, 'disk.raw');
writeFileSync(file, image);
const server = createServer((_req, res) => res.end(image));
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${server.address().port}/disk.raw`;

function ore(args) {
  const child = spawn(
    process.execPath,
    [join(root, 'packages/ore/bin/ore.js'), 'do', ...args, ...emulator.ore],
    { env: { ...process.env, ...emulator.env, XDG_CACHE_HOME: join(dir, 'cache') } },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

/** The guest of the snapshot method's helper: power it off once it is active. */
async function standInGuest(done) {
  while (!done.value) {
    const d = (await client.dropletsByTag('mantle', AbortSignal.timeout(10_000)))[0];
    done.own.set('droplets_list', (done.own.get('droplets_list') ?? 0) + 1);
    if (d?.status === 'active') {
      await client.dropletAction(d.id, { type: 'power_off' }, AbortSignal.timeout(10_000));
      done.own.set('dropletActions_post', 1);
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

const runs = [
  ['custom --url', ['--url', url, '--method', 'custom']],
  ['custom --file', ['--file', file, '--method', 'custom']],
  ['snapshot --file', ['--file', file, '--method', 'snapshot']],
];
try {
  console.log(
    `image: ${size} bytes (half random, half zero, an MBR signature); poll interval 50ms; emulator import 1 s, boot 0.1 s`,
  );
  for (const [label, args] of runs) {
    emulator.requests.reset();
    const name = `bench-${label.replace(/[^a-z]+/g, '-')}`.replace(/-$/, '');
    const done = { value: false, own: new Map() };
    const start = performance.now();
    const guest = label.startsWith('snapshot') ? standInGuest(done) : Promise.resolve();
    const r = await ore([
      'create-image',
      '--name',
      name,
      ...args,
      '--poll-interval',
      '50ms',
      '--do-image',
      String(emulator.imageId),
    ]);
    const ms = performance.now() - start;
    done.value = true;
    await guest;
    if (r.code !== 0) throw new Error(`${label}: ore exited ${r.code}: ${r.stderr}`);
    // the stand-in guest's own requests are not ore's
    const counts = [...emulator.requests.counts()]
      .map(([op, n]) => [op, n - (done.own.get(op) ?? 0)])
      .filter(([, n]) => n > 0)
      .sort((a, b) => b[1] - a[1]);
    const total = counts.reduce((n, [, c]) => n + c, 0);
    console.log(
      `\n${label}: ${(ms / 1000).toFixed(2)} s wall (ore process), ${total} API requests by ore${done.own.size ? ` (the stand-in guest's ${[...done.own.values()].reduce((a, b) => a + b, 0)} left out)` : ''}`,
    );
    console.log(`  ${counts.map(([op, n]) => `${op} ${n}`).join(', ')}`);
    const id = JSON.parse(r.stdout).id;
    if (id) await client.deleteImage(id, AbortSignal.timeout(10_000));
  }
} finally {
  server.close();
  await emulator.stop();
  rmSync(dir, { recursive: true, force: true });
}
