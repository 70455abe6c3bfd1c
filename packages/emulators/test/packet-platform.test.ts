import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserData } from '@mantle/cluster';
import { createTestContext } from '@mantle/cluster/testing';
import { type PacketOptions, packetOptions, platform } from '@mantle/platform-api-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PacketEmulator, startPacketEmulator } from '../src/packet/emulator.js';

// What the packet platform does beyond the shared contract, on the emulator's ssh machines: the
// device as mantle made it, its objects gone once it is up, the SOS console teed and trimmed, the
// flight key per run.

let emulator: PacketEmulator;
let options: PacketOptions;
beforeAll(async () => {
  emulator = await startPacketEmulator({
    machines: 'ssh',
    timing: { queuedMs: 50, provisionMs: 200, installMs: 100 },
    log: () => {},
  });
  Object.assign(process.env, emulator.env);
  options = packetOptions.parse({
    endpoint: emulator.endpoint,
    storageUrl: emulator.storageUrl,
    storageEndpoint: emulator.storage.endpoint,
    sosEndpoint: emulator.sos.endpoint,
    pollInterval: '100ms',
  });
});
afterAll(async () => {
  const violations = emulator?.violations() ?? [];
  await emulator?.stop();
  expect(violations).toEqual([]);
});

describe('packet machines on the emulator', () => {
  it('a device as mantle made it; objects removed once up; the SOS console teed live and trimmed to the installed boot', async () => {
    const ctx = createTestContext({ sshTimeoutMs: 20_000 });
    const flight = await platform.createFlight(options, ctx);
    try {
      expect(emulator.sshKeys()).toEqual([
        `kola-${ctx.tags['kola-run'] ?? flight.name}`.replace(/^kola-kola-/, 'kola-'),
      ]);
      const cluster = await flight.newCluster({ outputDir: join(ctx.outputDir, 't'), test: 'packet.shape' });
      const m = await cluster.newMachine(UserData.empty());
      const d = emulator.device(m.id)!;
      expect(d).toMatchObject({
        state: 'active',
        operatingSystem: 'custom_ipxe',
        billingCycle: 'hourly',
        locked: false,
      });
      expect(d.tags).toEqual(['mantle', `kola-run:${ctx.tags['kola-run'] ?? flight.name}`]);
      expect(d.hostname).toMatch(/-[0-9a-f]{10}$/);
      expect(d.ipxeScriptUrl).toMatch(/^http:\/\//);
      expect(await emulator.storageObjects()).toEqual([]);
      expect(String((await m.ssh('echo hi')).stdout).trim()).toBe('hi');
      // the live tee has the whole stream, installer included
      const clusterDir = join(ctx.outputDir, 't');
      const teeName = readdirSync(clusterDir).find((f) => f === `console-${m.id}.txt`);
      expect(teeName).toBeDefined();
      for (let i = 0; i < 50 && !readFileSync(join(clusterDir, teeName!), 'utf8').includes('GNU GRUB'); i++)
        await new Promise((r) => setTimeout(r, 100));
      expect(readFileSync(join(clusterDir, teeName!), 'utf8')).toContain('iPXE initialising devices');
      expect(emulator.sos.sessions()).toEqual([m.id]);
      await cluster.destroy();
      const saved = readFileSync(join(m.outputDir, 'console.txt'), 'utf8');
      expect(saved.startsWith('GNU GRUB')).toBe(true);
      expect(saved).not.toContain('iPXE');
      expect(saved).toContain('booted');
      for (let i = 0; i < 20 && emulator.sos.sessions().length; i++)
        await new Promise((r) => setTimeout(r, 100));
      expect(emulator.sos.sessions()).toEqual([]);
      expect(emulator.devices()).toEqual([]);
    } finally {
      await flight.destroy();
      await ctx.dispose();
    }
    expect(emulator.sshKeys()).toEqual([]);
  });

  it('a cluster that wants no key in metadata gets a device without keys, and no SOS console', async () => {
    const ctx = createTestContext({ sshTimeoutMs: 20_000 });
    const flight = await platform.createFlight(options, ctx);
    try {
      const cluster = await flight.newCluster({
        outputDir: join(ctx.outputDir, 'n'),
        noSshKeyInMetadata: true,
      });
      const m = await cluster.newMachine(UserData.empty());
      expect(emulator.device(m.id)?.sshKeyIds).toEqual([]);
      expect(emulator.sos.sessions()).toEqual([]);
      await cluster.destroy();
    } finally {
      await flight.destroy();
      await ctx.dispose();
    }
  });
});
