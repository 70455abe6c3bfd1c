import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateEd25519KeyPair } from '@mantle/cluster';
import type { MetalClient } from '@mantle/platform-api-packet';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectNoViolations } from '../src/http/violations.js';
import { type PacketEmulator, startPacketEmulator } from '../src/packet/emulator.js';
import { metalClientOf, orePacket, putStorageObject, startOrePacket, storageKeys } from './support/packet.js';

// Every `ore packet` verb as an ore process against the Equinix Metal emulator.
let emulator: PacketEmulator;
let client: MetalClient;
const signal = () => AbortSignal.timeout(10_000);

beforeAll(async () => {
  emulator = await startPacketEmulator({
    machines: 'none',
    timing: { queuedMs: 50, provisionMs: 300, installMs: 200 },
    log: () => {},
  });
  client = metalClientOf(emulator);
});
afterAll(() => emulator?.stop());
afterEach(() => expectNoViolations(emulator));

const key = async (label: string) =>
  (await client.createSshKey(label, generateEd25519KeyPair(label).public.trim(), signal())).id;

async function rawDevice(hostname: string, tags: string[]): Promise<string> {
  // a device whose install cannot start stays queued → provisioning → failed: enough for GC's listing
  const d = await client.createDevice(
    {
      hostname,
      plan: 'c3.small.x86',
      metro: 'sv',
      ipxeScriptUrl: 'http://127.0.0.1:1/x',
      tags,
      sshKeyIds: [],
    },
    signal(),
  );
  return d.id;
}

describe('ore packet on the emulator', () => {
  it('list-keys and delete-keys (a label without a key is exit 1, the others still go)', async () => {
    const a = await key('kola-list-a');
    await key('kola-list-b');
    const listed = await orePacket(emulator, ['list-keys']);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout.split('\n')).toEqual(expect.arrayContaining(['kola-list-a', 'kola-list-b']));
    const json = JSON.parse((await orePacket(emulator, ['list-keys', '--json'])).stdout) as Array<{
      id: string;
    }>;
    expect(json.map((k) => k.id)).toContain(a);
    const deleted = await orePacket(emulator, ['delete-keys', 'kola-list-a', 'kola-list-b', 'nope']);
    expect(deleted.code).toBe(1);
    expect(deleted.stdout).toBe('deleted kola-list-a\ndeleted kola-list-b\n');
    expect(deleted.stderr).toContain('no SSH key labelled nope');
    expect((await client.sshKeys(signal())).map((k) => k.label)).not.toContain('kola-list-a');
    // no storage client is made for a verb that stages nothing (mantle started Google OAuth here)
    const noStorage = await orePacket(
      emulator,
      ['list-keys', '--packet-storage-endpoint', 'http://127.0.0.1:1'],
      {
        AWS_ACCESS_KEY_ID: '',
        AWS_SECRET_ACCESS_KEY: '',
      },
    );
    expect(noStorage.code, noStorage.stderr).toBe(0);
  });

  it('create-device installs through the staged iPXE script, prints mantle’s JSON, and leaves no staged object', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ore-packet-'));
    const userData = '{"ignition":{"version":"3.3.0"},"passwd":{"users":[{"name":"core"}]}}';
    writeFileSync(join(dir, 'config.ign'), userData);
    const made = await orePacket(emulator, [
      'create-device',
      '--hostname',
      'ore-made',
      '--userdata-file',
      join(dir, 'config.ign'),
    ]);
    expect(made.code, made.stderr).toBe(0);
    const out = JSON.parse(made.stdout) as { id: string; hostname: string; 'public-ip': string };
    expect(out).toMatchObject({ hostname: 'ore-made', 'public-ip': expect.stringMatching(/^127\./) });
    const device = emulator.device(out.id)!;
    expect(device.state).toBe('active');
    expect(device.tags).toContain('mantle');
    // the device booted what the wrapped config carried as /userdata
    expect(device.installedUserData).toBe(userData);
    expect(await storageKeys(emulator)).toEqual([]);
    await client.deleteDevice(out.id, signal());
  });

  it('create-device: a device the API refuses leaves no staged object, exit 3', async () => {
    const before = emulator.devices().length;
    const failed = await orePacket(emulator, [
      'create-device',
      '--packet-plan',
      'c3.large.arm64',
      '--packet-metro',
      'sv',
    ]);
    expect(failed.code).toBe(3);
    expect(failed.stderr).toMatch(/not available in metro sv/);
    expect(emulator.devices()).toHaveLength(before);
    expect(await storageKeys(emulator)).toEqual([]);
  });

  it('SIGINT mid create-device leaves no device and no staged object', async () => {
    const before = new Set(emulator.devices());
    const run = startOrePacket(emulator, ['create-device', '--hostname', 'ore-interrupted']);
    for (let i = 0; i < 400 && emulator.devices().every((id) => before.has(id)); i++)
      await new Promise((r) => setTimeout(r, 10));
    const id = emulator.devices().find((d) => !before.has(d));
    expect(id).toBeDefined();
    run.child.kill('SIGINT');
    const done = await run.done;
    expect(done.code, done.stderr).toBe(130);
    expect(emulator.devices()).not.toContain(id);
    expect(await storageKeys(emulator)).toEqual([]);
  });

  it('bad credentials files are one line and exit 2; a refused key is exit 2', async () => {
    const home = mkdtempSync(join(tmpdir(), 'ore-packet-home-'));
    const file = join(home, 'packet.json');
    writeFileSync(file, '{"default": {"api_key": }}');
    const noEnv = { METAL_AUTH_TOKEN: '', METAL_PROJECT_ID: '', HOME: home };
    const bad = await orePacket(emulator, ['list-keys', '--packet-config-file', file], noEnv);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/packet\.json: not valid JSON: .* at line 1 column \d+/);
    const refused = await orePacket(emulator, ['list-keys'], { METAL_AUTH_TOKEN: 'wrong' });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('the API key was refused');
  });

  it('gc: plans, then removes exactly the old mantle devices (not locked or provisioning ones), unused kola keys and left objects', async () => {
    const now = Date.now();
    const old = new Date(now - 10 * 3600_000);
    const young = new Date(now - 600_000);
    const dOld = await rawDevice('old', ['mantle', 'kola-run:aaaa']);
    const dYoung = await rawDevice('young', ['mantle', 'kola-run:bbbb']);
    const dLocked = await rawDevice('locked', ['mantle']);
    const dProvisioning = await rawDevice('prov', ['mantle']);
    const dNotOurs = await rawDevice('theirs', ['other']);
    for (const id of [dOld, dLocked, dProvisioning, dNotOurs]) emulator.backdate(id, old);
    emulator.backdate(dYoung, young);
    await client.transport.call({
      operation: 'updateDevice',
      method: 'PUT',
      path: `/devices/${dLocked}`,
      body: { locked: true },
      signal: signal(),
    });
    emulator.holdState(dProvisioning, 'provisioning');
    const kOld = await key('kola-aaaa');
    const kUsed = await key('kola-bbbb');
    const kLaptop = await key('laptop');
    for (const id of [kOld, kUsed, kLaptop]) emulator.backdate(id, old);
    await putStorageObject(emulator, 'kola/old-0123456789', 'left by a killed run');
    await putStorageObject(emulator, 'kola/notes.txt', 'not kola’s');
    // gc's clock an hour ahead: the objects (made now) are old, the young device is not
    const env = { ORE_TEST_NOW: new Date(now + 5 * 3600_000 + 60_000).toISOString() };
    emulator.backdate(dYoung, new Date(now + 4 * 3600_000));

    type Outcome = {
      report: { results: Array<{ resource: { kind: string; id: string }; action: string; reason: string }> };
    };
    const byAction = (o: Outcome, action: string) => {
      const out: Record<string, string[]> = {};
      for (const r of o.report.results)
        if (r.action === action)
          out[r.resource.kind] = [...(out[r.resource.kind] ?? []), r.resource.id].sort();
      return out;
    };
    const plan = await orePacket(emulator, ['gc', '--json'], env);
    expect(plan.code, plan.stderr).toBe(0);
    const planned = JSON.parse(plan.stdout) as Outcome;
    const wouldRemove = {
      'packet.device': [dOld],
      'packet.ssh-key': [kOld],
      'packet.storage-object': [`${emulator.storage.bucket}/kola/old-0123456789`],
    };
    expect(byAction(planned, 'would-remove')).toEqual(wouldRemove);
    expect(byAction(planned, 'kept')).toMatchObject({
      'packet.device': [dLocked, dProvisioning, dYoung].sort(),
      'packet.ssh-key': [kUsed],
    });
    const reason = (id: string) => planned.report.results.find((r) => r.resource.id === id)?.reason;
    expect(reason(dLocked)).toBe('locked');
    expect(reason(dProvisioning)).toContain('provisioning');
    expect(reason(kUsed)).toBe(`used by device ${dYoung}, which stays`);
    const listed = new Set(planned.report.results.map((r) => r.resource.id));
    expect(listed.has(dNotOurs) || listed.has(kLaptop)).toBe(false);
    expect(emulator.devices()).toContain(dOld);

    const applied = await orePacket(emulator, ['gc', '--apply', '--json'], env);
    expect(applied.code, applied.stderr).toBe(0);
    expect(byAction(JSON.parse(applied.stdout) as Outcome, 'removed')).toEqual(wouldRemove);
    expect(emulator.devices()).not.toContain(dOld);
    expect(emulator.devices()).toEqual(expect.arrayContaining([dYoung, dLocked, dProvisioning, dNotOurs]));
    expect((await client.sshKeys(signal())).map((k) => k.id).sort()).toEqual(
      expect.arrayContaining([kUsed, kLaptop]),
    );
    expect((await client.sshKeys(signal())).map((k) => k.id)).not.toContain(kOld);
    expect(await storageKeys(emulator)).toEqual(['kola/notes.txt']);
    await client.transport.call({
      operation: 'updateDevice',
      method: 'PUT',
      path: `/devices/${dLocked}`,
      body: { locked: false },
      signal: signal(),
    });
    for (const id of emulator.devices()) await client.deleteDevice(id, signal());
  });
});
