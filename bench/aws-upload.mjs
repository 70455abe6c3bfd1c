#!/usr/bin/env node
// `ore aws upload` against moto: a 1 GiB raw image with 10 % data (non-zero 512 KiB blocks spread
// evenly, the rest holes of a sparse file), uploaded by `--method ebs` and by `--method s3` through
// the ore process, and boto3's `upload_file` of the same file to the same moto in the same run
// (both clients send S3 straight to moto; EC2 goes through the ImportSnapshot stand-in). The s3
// method runs twice a round: as it does by default (the raw image sent as a stream-optimized VMDK,
// zero grains left out, the rest deflated) and with `--object-format raw` (the file as it is, the
// same bytes boto3 sends). Throughput is image bytes per second of transfer, for every client.
// Goals: s3 method ≥ boto3's throughput; ebs sends only the non-zero blocks; peak RSS ≤ 256 MiB.
// Prints figures and ratios; asserts nothing. SIZE_MIB=1024 DATA_PERCENT=10 change the image (its
// data is random, so it does not deflate: the VMDK gains only the holes); IMAGE=FILE uploads a raw
// image of yours instead (kola's systemd test image is a real one); S3_PARALLEL=N passes
// --parallel N to the s3 method (default: ore's); ROUNDS=3 rounds of the three, alternating (each
// reported by its median round).
// Needs `node scripts/build.mjs` first (imports dist, runs packages/ore/bin/ore.js).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  ftruncateSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const { startMoto } = await import(join(root, 'packages/platform-api-aws/dist/testing/index.js'));

const MiB = 1024 * 1024;
const block = 512 * 1024;
const given = process.env.IMAGE; // a raw image of your own (an OS image: its data deflates)
const size = given ? statSync(given).size : Number(process.env.SIZE_MIB ?? 1024) * MiB;
const sizeMiB = size / MiB;
const dataPercent = Number(process.env.DATA_PERCENT ?? 10);
const work = mkdtempSync(join(tmpdir(), 'bench-aws-upload-'));
const image = given ?? join(work, 'disk.raw');

const blocks = Math.ceil(size / block);
let dataBlocks = 0;
if (given) {
  // the blocks ebs must send: those not all zero
  const zero = Buffer.alloc(block);
  const buffer = Buffer.alloc(block);
  const fd = openSync(given, 'r');
  for (let i = 0; i < blocks; i++) {
    buffer.fill(0);
    readSync(fd, buffer, 0, block, i * block);
    if (!buffer.equals(zero)) dataBlocks++;
  }
  closeSync(fd);
} else {
  // Every (100 / DATA_PERCENT)-th block holds random bytes: spread across the disk, incompressible.
  const stride = Math.round(100 / dataPercent);
  const fd = openSync(image, 'w');
  ftruncateSync(fd, size);
  for (let i = 0; i < blocks; i += stride, dataBlocks++)
    writeSync(fd, randomBytes(block), 0, block, i * block);
  closeSync(fd);
}

// Peak RSS of a node process: VmHWM from /proc just before it exits.
const hwmPreload = join(work, 'hwm.mjs');
writeFileSync(
  hwmPreload,
  `import { readFileSync, writeFileSync } from 'node:fs';
process.on('exit', () => {
  const m = /VmHWM:\\s+(\\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  if (process.env.HWM_OUT && m) writeFileSync(process.env.HWM_OUT, m[1]);
});
`,
);

const moto = await startMoto();

// Asynchronous on purpose: moto's ImportSnapshot stand-in runs in this process and must keep serving.
function exec(cmd, args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr = (stderr + d).slice(-8000);
    });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}
const ore = join(root, 'packages/ore/bin/ore.js');
const results = [];

async function runOre(label, args, bytesSent, extraEnv = {}, onStderr = () => {}) {
  const hwmOut = join(work, `${label}.hwm`);
  const t0 = performance.now();
  const r = await exec(process.execPath, ['--import', hwmPreload, ore, 'aws', ...args], {
    ...process.env,
    ...moto.env(),
    ...extraEnv,
    HWM_OUT: hwmOut,
  });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0)
    throw new Error(`${label}: ore exited ${r.status}: ${r.stderr.trim().split('\n').pop()}`);
  onStderr(r.stderr);
  const rssMiB = existsSync(hwmOut) ? Number(readFileSync(hwmOut, 'utf8')) / 1024 : Number.NaN;
  // the upload's own progress line: `upload <name>: done, … in 12.3s` (the transfer, without node's
  // start-up, ImportSnapshot and RegisterImage)
  const transfer = /^upload [^:]+: .* in ([\d.]+)s$/m.exec(r.stderr);
  const transferSeconds = transfer ? Number(transfer[1]) : Number.NaN;
  return { label, seconds, transferSeconds, rssMiB, bytesSent: bytesSent(), stdout: r.stdout.trim() };
}

try {
  // --method ebs
  await moto.reset();
  const ebs = await runOre(
    'ore --method ebs',
    [
      'upload',
      '--file',
      image,
      '--name',
      'bench-ebs',
      '--method',
      'ebs',
      '--poll-interval',
      '0.1s',
      '--json',
    ],
    () => (moto.requestCounts().get('ebs:PUT object') ?? 0) * block,
  );
  results.push(ebs);

  // --method s3 and boto3's upload_file, alternating for ROUNDS rounds (default 3) so that drift of
  // the host or of moto's process weighs on both alike; the median round of each is reported.
  const s3Round = async (objectFormat) => {
    await moto.reset(); // initialize makes the bucket (not timed)
    const init = await exec(process.execPath, [ore, 'aws', 'initialize', '--json'], {
      ...process.env,
      ...moto.env(),
    });
    if (init.status !== 0) throw new Error(`initialize: ${init.stderr}`);
    JSON.parse(init.stdout); // fails loudly if initialize printed no JSON
    let sent = Number.NaN;
    const run = await runOre(
      `ore --method s3 ${objectFormat}`,
      [
        'upload',
        '--file',
        image,
        '--name',
        'bench-s3',
        '--method',
        's3',
        '--poll-interval',
        '0.1s',
        '--json',
        '--object-format',
        objectFormat,
        ...(process.env.S3_PARALLEL ? ['--parallel', process.env.S3_PARALLEL] : []),
      ],
      // what ore says it sent (raw: the whole file, holes included, as S3 has no sparse objects)
      () => sent,
      // S3 straight to moto, as boto3's below: the stand-in in this process is needed for EC2's
      // ImportSnapshot only, and relaying 1 GiB through it would weigh on the client measured.
      { AWS_ENDPOINT_URL_S3: moto.motoEndpoint },
      (stderr) => {
        sent = Number(/ (\d+) bytes sent/.exec(stderr)?.[1] ?? Number.NaN);
      },
    );
    return run;
  };
  const botoRound = async () => {
    await moto.reset();
    const env = moto.env();
    const py = `
import boto3, resource, sys, time
s3 = boto3.client('s3', endpoint_url='${moto.motoEndpoint}', region_name='us-west-2',
    aws_access_key_id='${env.AWS_ACCESS_KEY_ID}', aws_secret_access_key='${env.AWS_SECRET_ACCESS_KEY}')
s3.create_bucket(Bucket='bench', CreateBucketConfiguration={'LocationConstraint': 'us-west-2'})
t0 = time.perf_counter()
s3.upload_file(sys.argv[1], 'bench', 'disk.raw')
print(time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
`;
    const b = await exec('python3', ['-c', py, image], { ...process.env, ...env });
    if (b.status !== 0) throw new Error(`boto3: ${b.stderr.trim().split('\n').pop()}`);
    const [secs, maxrssKiB] = b.stdout.trim().split(/\s+/).map(Number);
    return {
      label: 'boto3 upload_file',
      seconds: secs,
      transferSeconds: secs,
      rssMiB: maxrssKiB / 1024,
      bytesSent: size,
    };
  };
  const rounds = Math.max(1, Number(process.env.ROUNDS ?? 3));
  const s3Runs = [];
  const s3RawRuns = [];
  const botoRuns = [];
  for (let i = 0; i < rounds; i++) {
    s3Runs.push(await s3Round('vmdk'));
    s3RawRuns.push(await s3Round('raw'));
    botoRuns.push(await botoRound());
  }
  const medianRun = (runs) =>
    [...runs].sort((a, b) => a.transferSeconds - b.transferSeconds)[(runs.length - 1) >> 1];
  const s3 = medianRun(s3Runs);
  const s3Raw = medianRun(s3RawRuns);
  const boto = medianRun(botoRuns);
  // peak RSS: the largest of any round
  s3.rssMiB = Math.max(...s3Runs.map((r) => r.rssMiB));
  s3Raw.rssMiB = Math.max(...s3RawRuns.map((r) => r.rssMiB));
  results.push(s3, s3Raw, boto);

  const fmt = (n, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : 'n/a');
  console.log(
    `image: ${sizeMiB} MiB raw, ${dataBlocks} of ${blocks} blocks (${fmt((dataBlocks / blocks) * 100)} %) hold data`,
  );
  console.log(
    `transfer seconds per round: s3 method ${s3Runs.map((r) => fmt(r.transferSeconds, 2)).join(', ')}; s3 method raw ${s3RawRuns.map((r) => fmt(r.transferSeconds, 2)).join(', ')}; boto3 ${botoRuns.map((r) => fmt(r.transferSeconds, 2)).join(', ')}`,
  );
  console.log('method                   total s  transfer s  MiB/s (transfer)  MiB sent  peak RSS MiB');
  for (const r of results)
    console.log(
      `${r.label.padEnd(24)} ${fmt(r.seconds, 2).padStart(7)} ${fmt(r.transferSeconds, 2).padStart(11)} ${fmt(sizeMiB / r.transferSeconds).padStart(17)} ${fmt(r.bytesSent / MiB).padStart(9)} ${fmt(r.rssMiB).padStart(13)}`,
    );
  console.log(
    `s3 method / boto3 throughput: ${fmt(boto.transferSeconds / s3.transferSeconds, 2)} over the transfer (goal ≥ 1), ${fmt(boto.seconds / s3.seconds, 2)} end to end (ore's includes start-up, ImportSnapshot, RegisterImage)`,
  );
  console.log(
    `s3 method --object-format raw / boto3 throughput (the same bytes sent): ${fmt(boto.transferSeconds / s3Raw.transferSeconds, 2)} over the transfer`,
  );
  console.log(
    `ebs method / boto3 throughput: ${fmt(boto.transferSeconds / ebs.transferSeconds, 2)} over the transfer`,
  );
  console.log(
    `ebs bytes sent / non-zero bytes: ${fmt(ebs.bytesSent / (dataBlocks * block), 3)} (goal 1.000); s3 (VMDK) bytes sent / non-zero bytes: ${fmt(s3.bytesSent / (dataBlocks * block), 3)}; peak RSS goal ≤ 256 MiB: ebs ${fmt(ebs.rssMiB)}, s3 ${fmt(s3.rssMiB)}, s3 raw ${fmt(s3Raw.rssMiB)}`,
  );
} finally {
  await moto.stop();
  rmSync(work, { recursive: true, force: true });
}
