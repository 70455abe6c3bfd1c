import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Flight, type Machine, UserData } from '@mantle/cluster';
import { createTestContext, type TestContext } from '@mantle/cluster/testing';
import { createGceClients, type GceOptions, gceOptions, platform } from '@mantle/platform-api-gce';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GceEmulator, startGceEmulator } from '../src/gce/emulator.js';

// What the gce platform does beyond the shared contract, on the emulator's ssh machines: the
// instance as mantle made it, the ledger, properties, the console read without loss or repeats,
// throttling retried, and `kola cleanup`'s path.

let emulator: GceEmulator;
let options: GceOptions;
beforeAll(async () => {
  emulator = await startGceEmulator({ machines: 'ssh', log: () => {} });
  options = gceOptions.parse({
    endpoint: emulator.endpoint,
    project: emulator.project,
    zone: emulator.zone,
    jsonKey: emulator.keyFile,
    image: emulator.imageName,
  });
});
afterAll(async () => {
  const violations = emulator?.violations() ?? [];
  await emulator?.stop();
  expect(violations).toEqual([]);
});

async function withFlight<T>(
  o: GceOptions,
  fn: (flight: Flight, ctx: TestContext) => Promise<T>,
  ctx = createTestContext({ sshTimeoutMs: 20_000 }),
): Promise<T> {
  const flight = await platform.createFlight(o, ctx);
  try {
    return await fn(flight, ctx);
  } finally {
    await flight.destroy();
    await ctx.dispose();
  }
}

describe('gce machines on the emulator', () => {
  it('an instance as mantle made it: name, labels and metadata, disk, NAT; in the ledger until deleted', async () => {
    await withFlight(options, async (flight, ctx) => {
      const cluster = await flight.newCluster({ outputDir: join(ctx.outputDir, 't'), test: 'gce.shape' });
      const m = await cluster.newMachine(UserData.empty());
      expect(m.id).toMatch(/^kola-[0-9a-f]{20}$/);
      const clients = createGceClients(options);
      const instances = await clients.instances();
      const [i] = await instances.get({ project: emulator.project, zone: emulator.zone, instance: m.id });
      await clients.close();
      expect(i.labels).toMatchObject({
        'created-by': 'mantle',
        'kola-run': ctx.runId,
        'kola-test': 'gce-shape',
      });
      const metadata = Object.fromEntries((i.metadata?.items ?? []).map((x) => [x.key, x.value]));
      expect(metadata['created-by']).toBe('mantle');
      expect(metadata['kola-run']).toBe(ctx.runId);
      expect(metadata['user-data']).toBe(readFileSync(join(m.outputDir, 'user-data'), 'utf8'));
      expect(metadata['ssh-keys']).toBe(`core:${ctx.ssh.authorizedKeys[0]!.trim()}`);
      expect(i.machineType).toMatch(/\/zones\/us-central1-a\/machineTypes\/n1-standard-1$/);
      expect(i.disks?.[0]).toMatchObject({ boot: true, autoDelete: true, type: 'PERSISTENT' });
      expect(i.tags?.items).toEqual(['https-server', 'http-server']);
      const nic = i.networkInterfaces?.[0];
      expect(nic?.network).toMatch(/\/global\/networks\/default$/);
      expect(nic?.accessConfigs?.[0]).toMatchObject({ type: 'ONE_TO_ONE_NAT', name: 'External NAT' });
      expect(m.ip).toBe(nic?.accessConfigs?.[0]?.natIP);
      expect(m.privateIp).toBe(nic?.networkIP);
      expect(ctx.ledger.alive().map((e) => [e.kind, e.id, e.location])).toEqual([
        ['instance', m.id, emulator.zone],
      ]);
      await m.destroy();
      expect(emulator.instances()).toEqual([]);
      expect(ctx.ledger.alive()).toEqual([]);
    });
  });

  it('properties: project, zone, machine type, and the image as resolved (a family too)', async () => {
    const family = { ...options, image: `projects/${emulator.project}/global/images/family/kola-test` };
    await withFlight(family, async (flight) => {
      expect({ ...platform.properties(family), ...flight.properties() }).toMatchObject({
        project: emulator.project,
        zone: 'us-central1-a',
        machineType: 'n1-standard-1',
        image: `${emulator.endpoint}/compute/v1/projects/${emulator.project}/global/images/${emulator.imageName}`,
      });
    });
  });

  it('an image that is not there: one line before anything is made', async () => {
    const ctx = createTestContext();
    await expect(platform.createFlight({ ...options, image: 'no-such-image' }, ctx)).rejects.toThrow(
      /^--gce-image no-such-image: no image "no-such-image" in project kola-emulated$/,
    );
    expect(ctx.ledger.entries()).toEqual([]);
    await ctx.dispose();
  });

  it('the console is read on from where the last read ended: nothing lost, nothing twice', async () => {
    await withFlight(options, async (flight, ctx) => {
      const cluster = await flight.newCluster({ outputDir: join(ctx.outputDir, 'c') });
      const m: Machine = await cluster.newMachine();
      const first = await m.consoleOutput();
      expect(first).toMatch(/booted/);
      await m.reboot();
      const second = await m.consoleOutput();
      expect(second.startsWith(first)).toBe(true);
      expect(second.match(/booted/g)).toHaveLength(2);
      expect(second.match(/powered off/g)).toHaveLength(1);
      await cluster.destroy();
      // saved before the delete
      expect(readFileSync(join(m.outputDir, 'console.txt'), 'utf8')).toBe(second);
    });
  });

  it('throttling and 5xx answers are retried: machines come up under 30 % faults on every call', async () => {
    const faulty = await startGceEmulator({
      machines: 'ssh',
      log: () => {},
      faults: { rate: 0.3, seed: 16, kinds: ['throttle', 'server-error'] },
    });
    try {
      const o = gceOptions.parse({
        endpoint: faulty.endpoint,
        project: faulty.project,
        jsonKey: faulty.keyFile,
        image: faulty.imageName,
      });
      await withFlight(o, async (flight, ctx) => {
        const cluster = await flight.newCluster({ outputDir: join(ctx.outputDir, 'f') });
        const machines = await cluster.newMachines(2);
        expect((await machines[0]!.ssh('echo ok')).stdout).toBe('ok\n');
        await cluster.destroy();
      });
      expect([...faulty.faultsInjected().values()].reduce((a, b) => a + b, 0)).toBeGreaterThan(3);
      expect(faulty.instances()).toEqual([]);
    } finally {
      await faulty.stop();
    }
  });

  it('kola cleanup: the ledger entry of a machine left behind deletes it; already gone is done', async () => {
    const ctx = createTestContext({ sshTimeoutMs: 20_000 });
    const flight = await platform.createFlight(options, ctx);
    const cluster = await flight.newCluster({ outputDir: join(ctx.outputDir, 'l') });
    const m = await cluster.newMachine();
    const [entry] = ctx.ledger.alive();
    expect(emulator.instances()).toEqual([`${emulator.zone}/${m.id}`]);
    await platform.destroyLedgerEntry!(entry!, options, ctx);
    expect(emulator.instances()).toEqual([]);
    await platform.destroyLedgerEntry!(entry!, options, ctx);
    await flight.destroy(); // the machine's own delete finds it gone
    expect(existsSync(join(m.outputDir, 'console.txt'))).toBe(true);
    await ctx.dispose();
  });
});
