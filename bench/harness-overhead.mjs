#!/usr/bin/env node
// Harness overhead per test: 50 trivial tests (one machine each, one `true` over SSH) at -j 8 on the
// fake platform, run by the harness (reports, logs, console checks, ledger, directories) and, as the
// baseline in the same process, by a bare loop doing the same machine work through the same
// platform (create cluster + machine, ssh, destroy) with the same concurrency. Also 50 tests with no
// machines, where everything measured is harness. Goal: ≤ 5 ms per test.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const load = (p) => import(join(root, p));
const harness = await load('packages/harness/dist/index.js');
const { fakePlatform } = await load('packages/cluster/dist/testing/fake-platform.js');
const { createTestContext } = await load('packages/cluster/dist/testing/context.js');

const count = Number(process.env.TESTS ?? 50);
const parallel = Number(process.env.PARALLEL ?? 8);
const rounds = Number(process.env.ROUNDS ?? 5);
const state = mkdtempSync(join(tmpdir(), 'bench-fake-'));
const options = fakePlatform.options.parse({ stateDir: state });

const trivial = (machines) =>
  Array.from({ length: count }, (_, i) =>
    harness.defineTest({
      name: `bench.trivial.${i}`,
      clusterSize: machines ? 1 : 0,
      async run(t) {
        if (machines) await t.ssh(t.machines[0], 'true');
      },
    }),
  );

let cpu = [];
const cpuMs = (c0) => {
  const d = process.cpuUsage(c0);
  return (d.user + d.system) / 1000;
};

async function viaHarness(machines) {
  const ctx = createTestContext({ sshTimeoutMs: 30_000 });
  const devNull = { write() {} };
  const reporter = harness.multiReporter([
    new harness.ConsoleReporter(devNull, {}),
    ...harness.createFileReporters(ctx.outputDir),
  ]);
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const result = await harness.runTests({
    tests: trivial(machines),
    platform: fakePlatform,
    platformOptions: options,
    ctx,
    reporter,
    parallel,
  });
  const ms = performance.now() - t0;
  cpu.push(cpuMs(c0));
  if (result.status !== 'PASS')
    throw new Error(`bench run failed: ${JSON.stringify(result.results.find((r) => r.status !== 'PASS'))}`);
  ctx.dispose();
  return ms;
}

async function baseline() {
  const ctx = createTestContext({ sshTimeoutMs: 30_000 });
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const flight = await fakePlatform.createFlight(options, ctx);
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count) {
        const i = next++;
        const cluster = await flight.newCluster({ outputDir: join(ctx.outputDir, `t${i}`) });
        const [m] = await cluster.newMachines(1);
        await m.ssh('true');
        await cluster.destroy();
      }
    }),
  );
  await flight.destroy();
  const ms = performance.now() - t0;
  cpu.push(cpuMs(c0));
  ctx.dispose();
  return ms;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const samples = { harness: [], baseline: [], noMachines: [] };
const cpuSamples = { harness: [], baseline: [], noMachines: [] };
const measure = async (name, fn) => {
  cpu = [];
  samples[name].push(await fn());
  cpuSamples[name].push(cpu[0]);
};
if (process.env.BENCH_ONLY) {
  // profiling aid: run one variant only
  for (let r = 0; r < rounds; r++)
    await (process.env.BENCH_ONLY === 'baseline' ? baseline() : viaHarness(true));
  process.exit(0);
}
await viaHarness(true); // warm up JIT and caches
await baseline();
for (let r = 0; r < rounds; r++) {
  await measure('harness', () => viaHarness(true));
  await measure('baseline', baseline);
  await measure('noMachines', () => viaHarness(false));
}
rmSync(state, { recursive: true, force: true });

const h = median(samples.harness);
const b = median(samples.baseline);
const n = median(samples.noMachines);
// rounds alternate harness and baseline, so paired differences cancel slow drifts of the machine
const pairedWall = median(samples.harness.map((x, i) => x - samples.baseline[i])) / count;
const pairedCpu = median(cpuSamples.harness.map((x, i) => x - cpuSamples.baseline[i])) / count;
const perTest = pairedWall;
const hc = median(cpuSamples.harness);
const bc = median(cpuSamples.baseline);
const nc = median(cpuSamples.noMachines);
console.log(`${count} trivial tests, -j ${parallel}, fake platform; median of ${rounds} rounds`);
console.log(
  `harness, 1 machine per test    ${h.toFixed(0).padStart(6)} ms wall  (${(h / count).toFixed(2)} ms/test)`,
);
console.log(
  `baseline, same machine work    ${b.toFixed(0).padStart(6)} ms wall  (${(b / count).toFixed(2)} ms/test)   ratio ${(h / b).toFixed(2)}×`,
);
console.log(
  `harness, no machines           ${n.toFixed(0).padStart(6)} ms wall  (${(n / count).toFixed(2)} ms/test)`,
);
console.log(
  `harness overhead per test: ${perTest.toFixed(2)} ms wall (median of paired harness − baseline) / ${count}`,
);
console.log(
  `CPU of this process: harness ${hc.toFixed(0)} ms, baseline ${bc.toFixed(0)} ms, no machines ${nc.toFixed(0)} ms; ` +
    `paired difference ${pairedCpu.toFixed(2)} ms CPU per test`,
);
const met = perTest <= 5 && n / count <= 5;
console.log(`goal ≤ 5 ms per test (wall and CPU): ${met ? 'met' : 'NOT met'}`);
