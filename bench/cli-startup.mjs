#!/usr/bin/env node
// Start-up cost of the CLIs against the floor, `node -e 0`, measured in the same run.
// Runs alternate so all see the same machine state; prints medians and ratios.
// Goals: kola --help, kola list, kola run --help and ore --help each ≤ 1.5 × node -e 0.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const kola = join(root, 'packages/kola/bin/kola.js');
const ore = join(root, 'packages/ore/bin/ore.js');
if (
  !existsSync(join(root, 'packages/kola/dist/kola.js')) ||
  !existsSync(join(root, 'packages/ore/dist/ore.js'))
) {
  console.error('bench: build first (pnpm run build)');
  process.exit(2);
}
const runs = Number(process.env.RUNS ?? 30);
const commands = {
  'node -e 0': [process.execPath, ['-e', '0']],
  'kola --help': [process.execPath, [kola, '--help']],
  'kola list': [process.execPath, [kola, 'list']],
  'kola run --help': [process.execPath, [kola, 'run', '--help']],
  'ore --help': [process.execPath, [ore, '--help']],
};
const goals = ['kola --help', 'kola list', 'kola run --help', 'ore --help'];

const timeOnce = ([cmd, args]) => {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}`);
  return Number(process.hrtime.bigint() - t0) / 1e6;
};
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

for (const c of Object.values(commands)) timeOnce(c); // warm the file cache
const samples = Object.fromEntries(Object.keys(commands).map((k) => [k, []]));
for (let i = 0; i < runs; i++)
  for (const [name, c] of Object.entries(commands)) samples[name].push(timeOnce(c));

const base = median(samples['node -e 0']);
console.log(`runs: ${runs} each, alternating; median wall time`);
for (const [name, xs] of Object.entries(samples)) {
  const m = median(xs);
  console.log(`${name.padEnd(16)} ${m.toFixed(1).padStart(7)} ms   ${(m / base).toFixed(2)}× node -e 0`);
}
for (const name of goals) {
  const ratio = median(samples[name]) / base;
  console.log(`goal ${name} ≤ 1.5× node -e 0: ${ratio <= 1.5 ? 'met' : 'NOT met'} (${ratio.toFixed(2)}×)`);
}
