#!/usr/bin/env node
// Boot-to-SSH of each test image flavor on the qemu platform (KVM where it works, else TCG), and the
// wall time of the default suite at -j 1 and -j 2, measured in the same run.
// Goals under TCG on 2 cores: systemd ≤ 30 s, minimal ≤ 7 s; suite at -j 2 ≤ 0.6 × -j 1.
// BOOTS=3 boots per flavor (0 skips them); SUITE=0 skips the suite runs (several minutes each).
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const load = (p) => import(join(root, p));
const { platform } = await load('packages/platform-api-qemu/dist/index.js');
const { createTestContext } = await load('packages/cluster/dist/testing/context.js');

const boots = Number(process.env.BOOTS ?? 3);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function bootTimes(flavor) {
  const ctx = createTestContext({ sshTimeoutMs: 10 * 60_000 });
  const options = platform.options.parse({ flavor });
  const flight = await platform.createFlight(options, ctx); // builds the image first if needed
  const times = [];
  try {
    for (let i = 0; i < boots; i++) {
      const cluster = await flight.newCluster({ outputDir: join(ctx.outputDir, `${flavor}-${i}`) });
      const t0 = performance.now();
      const m = await cluster.newMachine(); // returns once SSH has answered with an authenticated session
      times.push((performance.now() - t0) / 1000);
      await m.ssh('true');
      await cluster.destroy();
    }
  } finally {
    await flight.destroy();
  }
  return { times, accel: platform.properties(options).accel };
}

const results = {};
for (const flavor of boots > 0 ? ['minimal', 'systemd'] : []) {
  const { times, accel } = await bootTimes(flavor);
  results[flavor] = median(times);
  console.log(
    `${flavor.padEnd(8)} boot to SSH (${accel}): median ${median(times).toFixed(1)} s of ${times.map((t) => t.toFixed(1)).join(', ')}`,
  );
}
const goals = { systemd: 30, minimal: 7 };
for (const [flavor, goal] of boots > 0 ? Object.entries(goals) : []) {
  console.log(
    `goal ${flavor} ≤ ${goal} s: ${results[flavor] <= goal ? 'met' : 'NOT met'} (${results[flavor].toFixed(1)} s)`,
  );
}

if (process.env.SUITE !== '0') {
  const suite = (j) => {
    const out = join(mkdtempSync(join(tmpdir(), 'bench-suite-')), 'out');
    const t0 = performance.now();
    const r = spawnSync(
      process.execPath,
      [join(root, 'packages/kola/bin/kola.js'), 'run', '-j', String(j), '--output-dir', out],
      {
        stdio: ['ignore', 'ignore', 'inherit'],
        env: { ...process.env, KOLA_INTERNAL_TEST_PLATFORMS: '', KOLA_INTERNAL_TEST_MODULES: '' },
      },
    );
    const s = (performance.now() - t0) / 1000;
    if (r.status !== 0) console.log(`suite at -j ${j} exited ${r.status} (see ${out})`);
    return s;
  };
  const j1 = suite(1);
  const j2 = suite(2);
  console.log(
    `default suite: -j 1 ${j1.toFixed(0)} s, -j 2 ${j2.toFixed(0)} s, ratio ${(j2 / j1).toFixed(2)}`,
  );
  console.log(`goal -j 2 ≤ 0.6 × -j 1: ${j2 / j1 <= 0.6 ? 'met' : 'NOT met'}`);
}
