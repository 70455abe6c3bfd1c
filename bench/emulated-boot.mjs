#!/usr/bin/env node
// Boot-to-SSH of one machine on the emulated aws (kola-emulator's qemu backend: RunInstances through
// the front and moto, the VM, Ignition -platform aws against IMDS, SSH at the address the API
// reports) against the plain qemu platform, same image flavour, same run, boots alternating so
// both see the same host load. Goal: emulated ≤ 1.15 × plain (the emulation adds little).
// BOOTS=5 boots each; FLAVOR=minimal|systemd (minimal by default). Needs `pnpm run build`.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const load = (p) => import(join(root, p));
const qemu = (await load('packages/platform-api-qemu/dist/index.js')).platform;
const aws = (await load('packages/platform-api-aws/dist/index.js')).platform;
const { createTestContext } = await load('packages/cluster/dist/testing/context.js');
const { startAwsEmulator } = await load('packages/emulators/dist/aws/emulator.js');

const boots = Number(process.env.BOOTS ?? 5);
const flavor = process.env.FLAVOR ?? 'minimal';
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const emulator = await startAwsEmulator({ machines: 'qemu', flavor });
Object.assign(process.env, emulator.env);
const ctx = createTestContext({ sshTimeoutMs: 10 * 60_000 });
const flights = {
  qemu: await qemu.createFlight(qemu.options.parse({ flavor }), ctx), // builds the image if needed
  aws: await aws.createFlight(
    aws.options.parse({
      region: 'us-west-2',
      endpoint: emulator.endpoint,
      ami: emulator.amiId,
      consoleWait: 0,
    }),
    ctx,
  ),
};

const accel = flights.qemu.properties().accel;

/** Seconds from asking for a machine until it answered an authenticated SSH session. */
async function bootOnce(name, i) {
  const cluster = await flights[name].newCluster({ outputDir: join(ctx.outputDir, `${name}-${i}`) });
  try {
    const t0 = performance.now();
    const m = await cluster.newMachine();
    const seconds = (performance.now() - t0) / 1000;
    await m.ssh('true');
    return seconds;
  } finally {
    await cluster.destroy();
  }
}

const times = { qemu: [], aws: [] };
try {
  // one boot of each first, not counted: the page cache holds the image afterwards for both
  await bootOnce('qemu', 'warm');
  await bootOnce('aws', 'warm');
  for (let i = 0; i < boots; i++) {
    for (const name of i % 2 ? ['aws', 'qemu'] : ['qemu', 'aws']) times[name].push(await bootOnce(name, i));
  }
} finally {
  await flights.aws.destroy();
  await flights.qemu.destroy();
  await emulator.stop();
  await ctx.dispose?.();
}

for (const [name, label] of [
  ['qemu', 'plain qemu platform'],
  ['aws', 'aws on kola-emulator (qemu machines)'],
])
  console.log(
    `${label.padEnd(38)} ${flavor} boot to SSH (${accel}): median ${median(times[name]).toFixed(2)} s of ${times[name].map((t) => t.toFixed(2)).join(', ')}`,
  );
const ratio = median(times.aws) / median(times.qemu);
console.log(`emulated / plain: ${ratio.toFixed(2)}×`);
console.log(`goal ≤ 1.15×: ${ratio <= 1.15 ? 'met' : 'NOT met'}`);
