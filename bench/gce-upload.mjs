#!/usr/bin/env node
// `ore gcloud upload --file raw` (the real ore process) against the GCE emulator, against the
// baseline @google-cloud/storage `bucket.upload` of the same tar.gz made beforehand (GNU tar
// --sparse -cz), in the same run. Image: 1 GiB sparse raw, 200 blocks of 512 KiB (100 MiB) at
// scattered offsets, each half random bytes and half a repeated text line (so gzip has work but
// is not trivial). Goals: bytes sent ≤ gzip -6 of the non-zero data + 1 %; throughput ≥ 1.0× the
// baseline, both as raw image bytes per second: ore's from its process start (node, the CLI, the
// API checks, the hole scan, tar and gzip on the way) to the emulator's answer to the upload's last
// chunk, the baseline's over bucket.upload alone (a ready file: its time leaves out making it).
// ore's images.insert after the upload is timed apart: the baseline makes no image. Peak RSS
// ≤ 256 MiB (VmHWM at exit). Both sides are warmed up first (untimed), then run in alternating
// rounds (ROUNDS, default 3); the medians are compared.
// Diagnostics: BENCH_TIMELINE=1 prints each side's requests with their times (s from spawn);
// ORE_NODE_ARGS and ORE_EXTRA_ARGS add node flags (e.g. --cpu-prof) and ore flags (e.g.
// --chunk-mib 64) to ore's runs.
// Run `pnpm run build` first.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = fileURLToPath(new URL('..', import.meta.url));
const load = (p) => import(join(root, p));
const { startGceEmulator } = await load('packages/emulators/dist/index.js');
const { createGceClients, gceOptions } = await load('packages/platform-api-gce/dist/index.js');
const { Storage } = createRequire(join(root, 'packages/emulators/package.json'))('@google-cloud/storage');

const MiB = 1024 ** 2;
const size = 1024 * MiB;
const block = 512 * 1024;
const work = mkdtempSync(join(tmpdir(), 'bench-gce-upload-'));
const raw = join(work, 'disk.raw');
const text = Buffer.from('kola bench: a line of log text that repeats, as config files and logs do\n');
const data = [];
{
  const fd = openSync(raw, 'w');
  for (let i = 0; i < 200; i++) {
    const b = Buffer.concat([randomBytes(block / 2), Buffer.alloc(block / 2, text)]);
    data.push(b);
    writeSync(fd, b, 0, block, Math.floor((i * size) / 200 / block) * block);
  }
  // whole GiB, as GCE wants
  closeSync(fd);
  execFileSync('truncate', ['-s', String(size), raw]);
}
const gzipOfData = gzipSync(Buffer.concat(data), { level: 6 }).length;
const hwm = join(work, 'hwm.mjs');
writeFileSync(
  hwm,
  `import { readFileSync, writeFileSync } from 'node:fs';
process.on('exit', () => {
  const m = /VmHWM:\\s+(\\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  if (process.env.HWM_OUT && m) writeFileSync(process.env.HWM_OUT, m[1]);
});
`,
);

const emulator = await startGceEmulator({ machines: 'none', log: () => {} });
const clients = createGceClients(
  gceOptions.parse({ endpoint: emulator.endpoint, project: emulator.project, jsonKey: emulator.keyFile }),
);
try {
  const objectSize = async (bucket, name) => {
    const r = await clients.auth.fetch(
      `${emulator.endpoint}/storage/v1/b/${bucket}/o/${encodeURIComponent(name)}`,
    );
    return Number((await r.json()).size);
  };
  const imagesBucket = `${emulator.project}-kola-images`;

  /** With BENCH_TIMELINE set: the requests since the log's reset, in seconds from `t0`. */
  const printTimeline = (t0) => {
    if (!process.env.BENCH_TIMELINE) return;
    const s = (at) => ((at - t0) / 1000).toFixed(3);
    for (const e of emulator.requests.entries())
      console.error(`  ${s(e.arrivedAt)}-${s(e.answeredAt)} ${e.method} ${e.path.slice(0, 60)} ${e.status}`);
  };

  /** Spawns node with `args` on a fresh request log; its exit code and the spawn time. */
  const runNode = async (args, env, stdio) => {
    emulator.requests.reset();
    const t0 = performance.now();
    const code = await new Promise((resolve) => {
      spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio }).on('close', resolve);
    });
    return { t0, code };
  };

  /** One `ore gcloud upload` process; seconds to the last chunk's answer and to exit, peak RSS. */
  const runOre = async (file, name) => {
    const { t0, code } = await runNode(
      [
        ...(process.env.ORE_NODE_ARGS ? process.env.ORE_NODE_ARGS.split(' ') : []),
        '--import',
        hwm,
        join(root, 'packages/ore/bin/ore.js'),
        'gcloud',
        'upload',
        '--file',
        file,
        '--name',
        name,
        ...emulator.ore,
        ...(process.env.ORE_EXTRA_ARGS ? process.env.ORE_EXTRA_ARGS.split(' ') : []),
      ],
      { XDG_CACHE_HOME: join(work, 'cache'), HWM_OUT: join(work, 'ore.hwm') },
      ['ignore', 'ignore', 'ignore'],
    );
    const total = (performance.now() - t0) / 1000;
    if (code !== 0) throw new Error(`ore exited ${code}`);
    const lastChunk = emulator.requests
      .entries()
      .find((e) => e.method === 'PUT' && e.path.startsWith('/upload/storage/v1/') && e.status === 200);
    if (!lastChunk?.answeredAt) throw new Error('the emulator saw no finished upload');
    const rss = Number(readFileSync(join(work, 'ore.hwm'), 'utf8')) / 1024;
    printTimeline(t0);
    return { seconds: (lastChunk.answeredAt - t0) / 1000, total, rss };
  };

  // baseline: a ready tar.gz, sent by the SDK
  const targz = join(work, 'disk.tar.gz');
  const tt = performance.now();
  execFileSync('tar', ['--format=oldgnu', '-Sczf', targz, '-C', work, 'disk.raw']);
  const tarSeconds = (performance.now() - tt) / 1000;
  const headers = await clients.auth.getRequestHeaders();
  const storage = new Storage({
    apiEndpoint: emulator.endpoint,
    projectId: emulator.project,
    retryOptions: { autoRetry: false },
  });
  storage.interceptors.push({ request: (o) => ({ ...o, headers: { ...o.headers, ...headers } }) });
  const bearer = /^Bearer (.+)$/i.exec(headers.authorization ?? headers.Authorization ?? '')?.[1];
  if (!bearer) throw new Error('no bearer token from the emulator');
  /** bucket.upload in a process of its own (bench/support/sdk-upload.mjs), timed as ore is. */
  const runSdkProcess = async (file, destination) => {
    const { t0, code } = await runNode(
      [join(root, 'bench/support/sdk-upload.mjs'), file, emulator.bucket, destination],
      { GCS_ENDPOINT: emulator.endpoint, GCS_PROJECT: emulator.project, GCS_BEARER: bearer },
      ['ignore', 'ignore', 'inherit'],
    );
    if (code !== 0) throw new Error(`the SDK upload process exited ${code}`);
    printTimeline(t0);
    const finished = emulator.requests
      .entries()
      .findLast((e) => e.path.startsWith('/upload/storage/v1/') && e.status === 200);
    if (!finished?.answeredAt) throw new Error('the emulator saw no finished SDK upload');
    return (finished.answeredAt - t0) / 1000;
  };
  const runSdk = async (file, destination) => {
    const t1 = performance.now();
    await storage.bucket(emulator.bucket).upload(file, { destination });
    return (performance.now() - t1) / 1000;
  };

  // Warm-up, untimed: the emulator compiles each operation's spec validators on first use, and the
  // first of two runs would pay that for the second. A small image and a small file through the
  // same calls.
  const warmRaw = join(work, 'warm.raw');
  {
    const fd = openSync(warmRaw, 'w');
    writeSync(fd, randomBytes(block), 0, block, 0);
    closeSync(fd);
    execFileSync('truncate', ['-s', String(1024 * MiB), warmRaw]);
  }
  await runOre(warmRaw, 'bench-warm');
  const warmTargz = join(work, 'warm.tar.gz');
  execFileSync('tar', ['--format=oldgnu', '-Sczf', warmTargz, '-C', work, 'warm.raw']);
  await runSdk(warmTargz, 'builds/bench-warm.tar.gz');
  await runSdkProcess(warmTargz, 'builds/bench-warm-process.tar.gz');

  // Rounds alternate, so that neither side always runs on a cooler machine; medians compared.
  const rounds = Number(process.env.ROUNDS ?? 3);
  const ore = [];
  const sdk = [];
  const sdkInProcess = [];
  for (let round = 1; round <= rounds; round++) {
    ore.push(await runOre(raw, `bench-ore-${round}`));
    sdk.push(await runSdkProcess(targz, `builds/bench-sdk-${round}.tar.gz`));
    sdkInProcess.push(await runSdk(targz, `builds/bench-sdk-in-${round}.tar.gz`));
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const oreSeconds = median(ore.map((r) => r.seconds));
  const oreTotalSeconds = median(ore.map((r) => r.total));
  const oreRss = Math.max(...ore.map((r) => r.rss));
  const sdkSeconds = median(sdk);
  const sdkInProcessSeconds = median(sdkInProcess);
  const oreBytes = await objectSize(imagesBucket, 'bench-ore-1.tar.gz');
  const sdkBytes = statSync(targz).size;

  const fmt = (n, d = 1) => n.toFixed(d);
  const list = (xs) => xs.map((x) => fmt(x, 2)).join(', ');
  console.log(
    `image: 1 GiB raw, ${fmt((data.length * block) / MiB)} MiB data; gzip -6 of the data alone ${fmt(gzipOfData / MiB, 2)} MiB; ${rounds} rounds after a warm-up`,
  );
  console.log(
    `ore gcloud upload: ${fmt(oreSeconds, 2)} s (median of ${list(ore.map((r) => r.seconds))}) from start to the object, ${fmt(size / MiB / oreSeconds)} MiB/s of image, object ${fmt(oreBytes / MiB, 2)} MiB, peak RSS ${fmt(oreRss)} MiB`,
  );
  console.log(
    `  then images.insert (the emulator reads the whole archive, as GCE's importer does): ${fmt(oreTotalSeconds - oreSeconds, 2)} s; ${fmt(oreTotalSeconds, 2)} s to exit`,
  );
  console.log(
    `@google-cloud/storage bucket.upload of GNU tar's tar.gz (${fmt(sdkBytes / MiB, 2)} MiB), a process timed as ore is: ${fmt(sdkSeconds, 2)} s (median of ${list(sdk)}), ${fmt(size / MiB / sdkSeconds)} MiB/s of image`,
  );
  console.log(
    `  the same call inside this warm process (no start-up, no goal): ${fmt(sdkInProcessSeconds, 2)} s (median of ${list(sdkInProcess)})`,
  );
  const bytesRatio = oreBytes / gzipOfData;
  const speed = sdkSeconds / oreSeconds;
  console.log(
    `bytes sent / gzip of data: ${fmt(bytesRatio, 3)} (goal ≤ 1.010): ${bytesRatio <= 1.01 ? 'met' : 'NOT met'}`,
  );
  console.log(`throughput / baseline: ${fmt(speed, 2)}× (goal ≥ 1.0): ${speed >= 1 ? 'met' : 'NOT met'}`);
  console.log(`(no goal) throughput / the in-process call: ${fmt(sdkInProcessSeconds / oreSeconds, 2)}×`);
  console.log(
    `(no goal) against GNU tar + bucket.upload (${fmt(tarSeconds, 2)} s + ${fmt(sdkSeconds, 2)} s): ${fmt((tarSeconds + sdkSeconds) / oreSeconds, 2)}×`,
  );
  console.log(`peak RSS: ${fmt(oreRss)} MiB (goal ≤ 256): ${oreRss <= 256 ? 'met' : 'NOT met'}`);
} finally {
  await clients.close();
  await emulator.stop();
  rmSync(work, { recursive: true, force: true });
}
