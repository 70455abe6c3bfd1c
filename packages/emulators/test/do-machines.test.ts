import { generateSshIdentity, type SshIdentity } from '@mantle/cluster';
import { Client } from 'ssh2';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type DoEmulator, startDoEmulator } from '../src/do/emulator.js';
import { expectNoViolations } from '../src/http/violations.js';
import { type DoAnswer, doFetch, pollUntil } from './support/do.js';

// Droplets as machines of the ssh backend: SSH answers at the public address the API reports, with
// the keys the guest would install (its user-data's, and its SSH keys through Afterburn), and the
// droplet actions act on the machine.

let emulator: DoEmulator;
let api: ReturnType<typeof doFetch>;

beforeAll(async () => {
  emulator = await startDoEmulator({ machines: 'ssh', timing: { bootMs: 100, actionMs: 50, importMs: 50 } });
  api = doFetch(emulator);
});
afterAll(() => emulator?.stop());
afterEach(() => expectNoViolations(emulator));

const ignition = (key: string) =>
  JSON.stringify({
    ignition: { version: '3.4.0' },
    passwd: { users: [{ name: 'core', sshAuthorizedKeys: [key] }] },
  });

/** Runs `command` as core, or says why it could not log in. */
function ssh(host: string, identity: SshIdentity, command = 'true'): Promise<{ stdout: string } | string> {
  return new Promise((resolve) => {
    const client = new Client();
    client
      .on('ready', () => {
        client.exec(command, (error, stream) => {
          if (error) {
            client.end();
            return resolve(error.message);
          }
          let stdout = '';
          stream.on('data', (d: Buffer) => {
            stdout += d.toString();
          });
          stream.on('close', () => {
            client.end();
            resolve({ stdout });
          });
          stream.stderr.resume();
        });
      })
      .on('error', (e) => resolve(e.message))
      .connect({ host, port: 22, username: 'core', privateKey: identity.privateKey, readyTimeout: 10_000 });
  });
}

const publicAddress = (a: DoAnswer): string =>
  a.body.droplet.networks.v4.find((n: { type: string }) => n.type === 'public').ip_address;

async function createActive(body: Record<string, unknown>) {
  const created = await api('POST', '/v2/droplets', {
    region: 'sfo2',
    size: 's-1vcpu-1gb',
    image: emulator.imageId,
    tags: ['mantle'],
    ...body,
  });
  expect(created.status).toBe(202);
  const active = await pollUntil(
    () => api('GET', `/v2/droplets/${created.body.droplet.id}`),
    (a) => a.body.droplet.status === 'active',
  );
  return { id: created.body.droplet.id as number, host: publicAddress(active) };
}

async function act(id: number, type: string) {
  const started = await api('POST', `/v2/droplets/${id}/actions`, { type });
  expect(started.status, JSON.stringify(started.body)).toBe(201);
  const done = await pollUntil(
    () => api('GET', `/v2/actions/${started.body.action.id}`),
    (a) => a.body.action.status !== 'in-progress',
  );
  expect(done.body.action.status).toBe('completed');
}

describe('DigitalOcean droplets on ssh machines', () => {
  it("logs in with the user-data's key at the public address, and not with another key", async () => {
    const identity = generateSshIdentity();
    const { id, host } = await createActive({ name: 'kola-ud', user_data: ignition(identity.publicKey) });
    expect(host).toMatch(/^127\./);
    expect(await ssh(host, identity, 'echo hello')).toEqual({ stdout: 'hello\n' });
    expect(await ssh(host, generateSshIdentity())).toMatch(/authentication/i);
    // the guest read its user-data from the metadata service, where Ignition's provider reads it
    expect(emulator.metadataRequests(id)).toContain('GET /metadata/v1/user-data');
    await api('DELETE', `/v2/droplets/${id}`);
  });

  it("logs in with the droplet's SSH keys (served in public-keys, which Afterburn installs)", async () => {
    const identity = generateSshIdentity();
    const key = (await api('POST', '/v2/account/keys', { name: 'kola-fp', public_key: identity.publicKey }))
      .body.ssh_key;
    const { id, host } = await createActive({ name: 'kola-keys', ssh_keys: [key.fingerprint] });
    expect(await ssh(host, identity, 'echo via-key')).toEqual({ stdout: 'via-key\n' });
    expect(emulator.metadataRequests(id)).toContain('GET /metadata/v1/public-keys');
    await api('DELETE', `/v2/droplets/${id}`);
    await api('DELETE', `/v2/account/keys/${key.id}`);
  });

  it('power_off stops the machine, power_on starts it, reboot gives a new boot id; delete removes it', async () => {
    const identity = generateSshIdentity();
    const { id, host } = await createActive({ name: 'kola-life', user_data: ignition(identity.publicKey) });
    const bootId = async () => {
      const r = await ssh(host, identity, 'cat /proc/sys/kernel/random/boot_id');
      if (typeof r === 'string') throw new Error(r);
      return r.stdout.trim();
    };
    await bootId();
    await act(id, 'power_off');
    expect((await api('GET', `/v2/droplets/${id}`)).body.droplet.status).toBe('off');
    expect(await ssh(host, identity)).toMatch(/ECONNREFUSED/);
    await act(id, 'power_on');
    expect((await api('GET', `/v2/droplets/${id}`)).body.droplet.status).toBe('active');
    const second = await bootId();
    expect(second).toMatch(/^[0-9a-f-]{36}$/);
    await act(id, 'reboot');
    expect(await bootId()).not.toBe(second);
    await act(id, 'shutdown');
    expect(await ssh(host, identity)).toMatch(/ECONNREFUSED/);
    await act(id, 'power_cycle');
    expect(await bootId()).toMatch(/^[0-9a-f-]{36}$/);

    expect(emulator.backend.live()).toContain(String(id));
    expect((await api('DELETE', `/v2/droplets/${id}`)).status).toBe(204);
    expect(emulator.backend.live()).not.toContain(String(id));
    expect(await ssh(host, identity)).toMatch(/ECONNREFUSED/);
  });

  it('a snapshot makes an image later droplets boot from (as machines too)', async () => {
    const identity = generateSshIdentity();
    const { id } = await createActive({ name: 'kola-snap', user_data: ignition(identity.publicKey) });
    await act(id, 'power_off');
    const snap = await api('POST', `/v2/droplets/${id}/actions`, {
      type: 'snapshot',
      name: 'kola-snap-image',
    });
    await pollUntil(
      () => api('GET', `/v2/actions/${snap.body.action.id}`),
      (a) => a.body.action.status === 'completed',
    );
    const [snapshot] = (await api('GET', '/v2/snapshots')).body.snapshots;
    // an ssh machine has no disk: the snapshot keeps none, and asking a machine for it says why
    expect(emulator.snapshotDisk(Number(snapshot.id))).toBeUndefined();
    await expect(emulator.machine(id)!.exportDisk('/nonexistent/disk.raw')).rejects.toMatchObject({
      code: 'emulator.disk-unsupported',
      message: expect.stringMatching(
        /: ssh machines have no disk; snapshot disks need the qemu machine backend/,
      ),
    });
    const again = await createActive({
      name: 'kola-from-snap',
      image: Number(snapshot.id),
      user_data: ignition(identity.publicKey),
    });
    expect(await ssh(again.host, identity, 'echo from-snapshot')).toEqual({ stdout: 'from-snapshot\n' });
    await api('DELETE', `/v2/droplets/${id}`);
    await api('DELETE', `/v2/droplets/${again.id}`);
    await api('DELETE', `/v2/snapshots/${snapshot.id}`);
  });
});

describe('stopping the DigitalOcean emulator', () => {
  it('terminates every machine it started and leaves nothing listening', async () => {
    const own = await startDoEmulator({ machines: 'ssh', timing: { bootMs: 0 } });
    const call = doFetch(own);
    const identity = generateSshIdentity();
    const created = await call('POST', '/v2/droplets', {
      names: ['kola-left-1', 'kola-left-2'],
      size: 's-1vcpu-1gb',
      image: own.imageId,
      user_data: ignition(identity.publicKey),
    });
    const ids: number[] = created.body.droplets.map((d: { id: number }) => d.id);
    const hosts = await Promise.all(
      ids.map(async (id) =>
        publicAddress(
          await pollUntil(
            () => call('GET', `/v2/droplets/${id}`),
            (a) => a.body.droplet.status === 'active',
          ),
        ),
      ),
    );
    for (const host of hosts) expect(await ssh(host, identity, 'true')).toEqual({ stdout: '' });
    expect(own.backend.live().sort()).toEqual(ids.map(String).sort());
    await own.stop();
    expect(own.backend.live()).toEqual([]);
    for (const host of hosts) expect(await ssh(host, identity)).toMatch(/ECONNREFUSED/);
    await expect(fetch(`${own.endpoint}/v2/account`)).rejects.toThrow();
    await expect(fetch(`${own.spaces.endpoint}/${own.spaces.bucket}`)).rejects.toThrow();
    expectNoViolations(own);
  });
});
