#!/usr/bin/env node
// Boot-to-SSH of each test image flavor on the qemu platform (KVM where it works, else TCG), and the
// wall time of the default suite at -j 1 and -j 2, measured in the same run.
// Goals under TCG on 2 cores: systemd ≤ 30 s, minimal ≤ 7 s; suite at -j 2 ≤ 0.6 × -j 1.
// BOOTS=3 boots per flavor (0 skips them); SUITE=0 skips the suite runs (several minutes each).
// With each suite run it prints how many of the host's cores were busy on average (from /proc/stat):
// the -j 1 run's figure bounds the ratio, as -j 2 cannot do the same work faster than all cores can.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
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
  const accel = flight.properties().accel; // what was probed (kvm or tcg), not the option (auto)
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
  return { times, accel };
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

// Busy and total CPU time of the whole host so far (all cores, in clock ticks).
function hostCpu() {
  const ticks = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1, 9).map(Number);
  const total = ticks.reduce((a, b) => a + b, 0);
  return { busy: total - ticks[3] - ticks[4], total }; // idle and iowait are not busy
}

if (process.env.SUITE !== '0') {
  const cores = availableParallelism();
  const suite = (j) => {
    const out = join(mkdtempSync(join(tmpdir(), 'bench-suite-')), 'out');
    const cpu0 = hostCpu();
    const t0 = performance.now();
    const r = spawnSync(
      process.execPath,
      [join(root, 'packages/kola/bin/kola.js'), 'run', '-j', String(j), '--output-dir', out],
      {
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    );
    const seconds = (performance.now() - t0) / 1000;
    const cpu1 = hostCpu();
    const busyCores = ((cpu1.busy - cpu0.busy) / (cpu1.total - cpu0.total)) * cores;
    if (r.status !== 0) console.log(`suite at -j ${j} exited ${r.status} (see ${out})`);
    console.log(
      `suite -j ${j}: ${seconds.toFixed(0)} s, ${busyCores.toFixed(2)} of ${cores} cores busy on average`,
    );
    return { seconds, busyCores };
  };
  const j1 = suite(1);
  const j2 = suite(2);
  const ratio = j2.seconds / j1.seconds;
  // -j 2 runs the same tests, so it needs at least the CPU time -j 1 used: all cores busy throughout
  // is the best it can do.
  const floor = j1.busyCores / cores;
  console.log(
    `default suite: -j 1 ${j1.seconds.toFixed(0)} s, -j 2 ${j2.seconds.toFixed(0)} s, ratio ${ratio.toFixed(2)}`,
  );
  console.log(
    `lowest ratio this host allows: ${floor.toFixed(2)} (-j 1 kept ${j1.busyCores.toFixed(2)} of ${cores} cores busy)`,
  );
  console.log(`goal -j 2 ≤ 0.6 × -j 1: ${ratio <= 0.6 ? 'met' : 'NOT met'}`);
}
