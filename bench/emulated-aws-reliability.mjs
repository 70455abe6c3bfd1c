#!/usr/bin/env node
// Reliability of kola on the AWS emulator, as real kola processes on the `ssh` machine backend:
//  1. TRIALS runs (default 20) of `kola run fixture.cluster fixture.hang`, each killed by SIGINT at a
//     random moment (seeded); after each, count what is left: running instances, kola key pairs,
//     kola security groups beyond the one shared per region, live machines of the backend.
//  2. The suite (fixture.pass, fixture.cluster, fixture.userdata) with seeded faults at RATE (default 0.1)
//     on every API call: it must pass and leave nothing.
// Prints the figures; exits 1 if anything leaked or the faulted suite failed.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const trials = Number(process.env.TRIALS ?? 20);
const rate = Number(process.env.RATE ?? 0.1);
let seed = Number(process.env.SEED ?? 7);
const random = () => {
  // mulberry32, so a run can be repeated
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

const { startAwsEmulator } = await import(
  pathToFileURL(join(root, 'packages/emulators/dist/aws/emulator.js')).href
);
const kolaTestBin = join(root, 'packages/kola/test/support/kola.mjs');
const fixtureTests = join(root, 'packages/kola/test/fixtures/tests.mjs');

async function ec2(emulator, params) {
  const r = await fetch(emulator.endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `AWS4-HMAC-SHA256 Credential=${emulator.env.AWS_ACCESS_KEY_ID}/20260101/us-west-2/ec2/aws4_request, SignedHeaders=host, Signature=0`,
    },
    body: new URLSearchParams({ Version: '2016-11-15', ...params }).toString(),
  });
  return r.text();
}

async function leftovers(emulator) {
  const instances = await ec2(emulator, {
    Action: 'DescribeInstances',
    'Filter.1.Name': 'instance-state-name',
    'Filter.1.Value.1': 'pending',
    'Filter.1.Value.2': 'running',
    'Filter.1.Value.3': 'stopping',
    'Filter.1.Value.4': 'stopped',
  });
  const keys = await ec2(emulator, { Action: 'DescribeKeyPairs' });
  const groups = await ec2(emulator, {
    Action: 'DescribeSecurityGroups',
    'Filter.1.Name': 'group-name',
    'Filter.1.Value.1': 'kola',
  });
  return {
    instances: [...instances.matchAll(/<instanceId>([^<]+)<\/instanceId>/g)].length,
    keyPairs: [...keys.matchAll(/<keyName>(kola-[^<]+)<\/keyName>/g)].length,
    // the `kola` group is shared per region and kept, as mantle's is: more than one is a leak (its own
    // self-referencing rules name its id again, hence distinct ids)
    extraSecurityGroups: Math.max(
      0,
      new Set([...groups.matchAll(/<groupId>([^<]+)<\/groupId>/g)].map((m) => m[1])).size - 1,
    ),
    machines: emulator.backend.live().length,
  };
}

function kola(emulator, args, { killAfterMs } = {}) {
  const out = join(mkdtempSync(join(tmpdir(), 'kola-reliability-')), 'out');
  const child = spawn(
    process.execPath,
    [
      kolaTestBin,
      'run',
      ...emulator.kola,
      '--output-dir',
      out,
      '--ssh-timeout',
      '30s',
      '--aws-console-wait',
      '0',
      ...args,
    ],
    {
      env: { ...process.env, ...emulator.env, KOLA_TEST_MODULES: fixtureTests },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr = (stderr + d).slice(-2000);
  });
  if (killAfterMs !== undefined) setTimeout(() => child.kill('SIGINT'), killAfterMs);
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stderr, out })));
}

const sum = (rows, key) => rows.reduce((n, r) => n + r[key], 0);
let failed = false;

// 1. SIGINT at random moments
{
  const emulator = await startAwsEmulator({ machines: 'ssh' });
  const rows = [];
  const t0 = performance.now();
  for (let i = 0; i < trials; i++) {
    const killAfterMs = Math.round(300 + random() * 5000);
    const r = await kola(emulator, ['-j', '2', 'fixture.cluster', 'fixture.hang'], { killAfterMs });
    const left = await leftovers(emulator);
    rows.push({ killAfterMs, code: r.code, ...left });
    const leaked = left.instances + left.keyPairs + left.extraSecurityGroups + left.machines;
    if (leaked) failed = true;
    console.log(
      `trial ${String(i + 1).padStart(2)}: SIGINT after ${String(killAfterMs).padStart(4)} ms, exit ${r.code}, left: ${leaked ? JSON.stringify(left) : 'nothing'}`,
    );
  }
  console.log(
    `SIGINT trials: ${trials} in ${((performance.now() - t0) / 1000).toFixed(1)} s; leaked instances ${sum(rows, 'instances')}, key pairs ${sum(rows, 'keyPairs')}, extra security groups ${sum(rows, 'extraSecurityGroups')}, machines ${sum(rows, 'machines')}`,
  );
  await emulator.stop();
}

// 2. the suite with faults
{
  const emulator = await startAwsEmulator({ machines: 'ssh', faults: { rate, seed: 11 } });
  const t0 = performance.now();
  const r = await kola(emulator, ['-j', '2', 'fixture.pass', 'fixture.cluster', 'fixture.userdata']);
  const left = await leftovers(emulator);
  const injected = Object.fromEntries(emulator.front.faultsInjected());
  const leaked = left.instances + left.keyPairs + left.extraSecurityGroups + left.machines;
  console.log(
    `faults at ${rate}: suite exit ${r.code} in ${((performance.now() - t0) / 1000).toFixed(1)} s; injected ${JSON.stringify(injected)}; left: ${leaked ? JSON.stringify(left) : 'nothing'}`,
  );
  if (r.code !== 0) console.log(r.stderr);
  if (r.code !== 0 || leaked) failed = true;
  await emulator.stop();
}
process.exit(failed ? 1 : 0);
