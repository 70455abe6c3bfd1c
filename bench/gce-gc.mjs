#!/usr/bin/env node
// Requests and wall time of `ore gcloud gc` (the real ore process) against the GCE emulator: INSTANCES
// instances (default 1000) over 5 zones, most of them old candidates (created-by=mantle), a tenth
// kept (keep-until in the future), then the plan and `--apply`. Goal: list requests ≤ 1 per 500
// instances, plus the deletes. Run `pnpm run build` first (imports dist, spawns packages/ore/bin).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const load = (p) => import(join(root, p));
const { startGceEmulator } = await load('packages/emulators/dist/index.js');
const { createGceClients, gceOptions } = await load('packages/platform-api-gce/dist/index.js');

const count = Number(process.env.INSTANCES ?? 1000);
const zones = ['us-central1-a', 'us-central1-b', 'europe-west1-b', 'us-east1-c', 'us-west1-a'];
const mine = { 'created-by': 'mantle' };

function ore(args, env) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(root, 'packages/ore/bin/ore.js'), ...args], {
      env: { ...process.env, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const emulator = await startGceEmulator({ machines: 'none', log: () => {}, operationMs: 0 });
const dir = mkdtempSync(join(tmpdir(), 'bench-gce-gc-'));
const clients = createGceClients(
  gceOptions.parse({ endpoint: emulator.endpoint, project: emulator.project, jsonKey: emulator.keyFile }),
);
try {
  const instances = await clients.instances();
  const t0 = performance.now();
  const before = emulator.instances().length;
  const planted = Array.from({ length: count }, (_, i) => ({
    zone: zones[i % zones.length],
    name: `kola-bench-${i}`,
    labels: i % 10 === 9 ? { ...mine, 'keep-until': '2099-01-01t00-00-00z' } : mine,
  }));
  for (let i = 0; i < planted.length; i += 40)
    await Promise.all(
      planted.slice(i, i + 40).map((p) =>
        instances.insert({
          project: emulator.project,
          zone: p.zone,
          instanceResource: {
            name: p.name,
            machineType: `zones/${p.zone}/machineTypes/e2-micro`,
            labels: p.labels,
            disks: [
              {
                boot: true,
                autoDelete: true,
                initializeParams: {
                  sourceImage: `projects/${emulator.project}/global/images/${emulator.imageName}`,
                },
              },
            ],
            networkInterfaces: [{ network: 'global/networks/default' }],
          },
        }),
      ),
    );
  while (emulator.instances().length < before + count) await new Promise((r) => setTimeout(r, 100));
  const kept = planted.filter((p) => p.labels['keep-until']).length;
  console.log(
    `setup: ${count} instances over ${zones.length} zones (${count - kept} candidates, ${kept} kept) in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  // the instances are seconds old: gc takes those older than 2 s as candidates
  await new Promise((r) => setTimeout(r, 2500));
  const env = { XDG_CACHE_HOME: join(dir, 'cache') };
  const flags = emulator.ore.filter((a, i, all) => a !== '--gce-zone' && all[i - 1] !== '--gce-zone');
  let met = true;
  for (const apply of [false, true]) {
    emulator.requests.reset();
    const start = performance.now();
    const r = await ore(['gcloud', 'gc', '--older-than', '2s', ...(apply ? ['--apply'] : []), ...flags], env);
    const ms = performance.now() - start;
    if (r.code !== 0) throw new Error(`ore gcloud gc exited ${r.code}: ${r.stderr}`);
    const counts = [...emulator.requests.counts()];
    // the instance kind's listing; gc also lists images and buckets once each (other kinds)
    const lists = emulator.requests.counts().get('compute.instances.aggregatedList') ?? 0;
    const deletes = emulator.requests.counts().get('compute.instances.delete') ?? 0;
    if (process.env.VERBOSE) console.log(r.stdout, r.stderr);
    const budget = Math.ceil(count / 500);
    const ok = lists <= budget && deletes === (apply ? count - kept : 0);
    met &&= ok;
    console.log(
      `\n${apply ? 'apply' : 'plan'}: ${(ms / 1000).toFixed(2)} s wall (ore process); instance list requests ${lists} (goal ≤ ${budget}: ${((lists / count) * 500).toFixed(2)} per 500 instances), deletes ${deletes}; ${ok ? 'met' : 'NOT met'}`,
    );
    console.log(`  requests: ${counts.map(([op, n]) => `${op} ${n}`).join(', ')}`);
  }
  const left = emulator.instances().length - before;
  console.log(
    `\nleft after apply: ${left} (the ${kept} kept); goal ${met && left === kept ? 'met' : 'NOT met'}`,
  );
} finally {
  await clients.close();
  await emulator.stop();
  rmSync(dir, { recursive: true, force: true });
}
