import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { connectSsh, execSsh, generateSshIdentity, type SshIdentity } from '@mantle/cluster';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createImdsHandler } from '../aws/imds.js';
import { type BackendMachine, createMachineBackend, type MachineBackend } from './backend.js';

const backends: MachineBackend[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const b of backends.splice(0)) await b.dispose();
});

function awsSpec(instanceId: string, userData: string) {
  return {
    instanceId,
    provider: 'aws' as const,
    metadata: createImdsHandler({
      instanceId,
      userData: Buffer.from(userData),
      localIpv4: '172.31.0.5',
      publicIpv4: '',
      region: 'us-west-2',
      instanceType: 't3.micro',
      amiId: 'ami-1',
    }),
    network: 'subnet-1',
    privateIp: '172.31.0.5',
  };
}

const ignitionWithKey = (key: string) =>
  JSON.stringify({
    ignition: { version: '3.3.0' },
    passwd: { users: [{ name: 'core', sshAuthorizedKeys: [key] }] },
  });

async function run(machine: BackendMachine, identity: SshIdentity, command: string, timeoutMs = 5000) {
  const client = await connectSsh({ host: machine.sshHost, port: machine.sshPort }, { identity, timeoutMs });
  try {
    return (await execSsh(client, command)).stdout.trim();
  } finally {
    client.end();
  }
}

function refused(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

describe('ssh machine backend', () => {
  it("answers SSH at the machine's own loopback address, port 22, for the key in the user-data only", async () => {
    const backend = createMachineBackend('ssh');
    backends.push(backend);
    const identity = generateSshIdentity();
    const machine = await backend.start(awsSpec('i-ssh1', ignitionWithKey(identity.publicKey)));
    expect(machine.sshHost).toMatch(/^127\.\d+\.\d+\.\d+$/);
    expect(machine.sshHost).not.toBe('127.0.0.1');
    expect(machine.sshPort).toBe(22);
    expect(await run(machine, identity, 'echo hello')).toBe('hello');
    const stranger = generateSshIdentity();
    await expect(run(machine, stranger, 'true', 1000)).rejects.toThrow();
    await machine.terminate();
  });

  it('a second machine gets another address', async () => {
    const backend = createMachineBackend('ssh');
    backends.push(backend);
    const identity = generateSshIdentity();
    const a = await backend.start(awsSpec('i-a', ignitionWithKey(identity.publicKey)));
    const b = await backend.start(awsSpec('i-b', ignitionWithKey(identity.publicKey)));
    expect(a.sshHost).not.toBe(b.sshHost);
    expect(backend.live().sort()).toEqual(['i-a', 'i-b']);
    await Promise.all([a.terminate(), b.terminate()]);
  });

  it('stop, start, reboot and terminate act on the machine; nothing is left after terminate', async () => {
    const backend = createMachineBackend('ssh');
    backends.push(backend);
    const identity = generateSshIdentity();
    const machine = await backend.start(awsSpec('i-ssh2', ignitionWithKey(identity.publicKey)));
    const home = await run(machine, identity, 'pwd');
    expect(existsSync(home)).toBe(true);
    const bootId = await run(machine, identity, 'cat /proc/sys/kernel/random/boot_id');

    await machine.stop();
    expect(machine.state).toBe('stopped');
    expect(await refused(machine.sshHost, machine.sshPort)).toBe(true);
    await machine.start();
    expect(machine.state).toBe('running');
    expect(await run(machine, identity, 'echo back')).toBe('back');

    await machine.reboot();
    expect(await run(machine, identity, 'cat /proc/sys/kernel/random/boot_id')).not.toBe(bootId);

    await machine.terminate();
    expect(machine.state).toBe('terminated');
    expect(backend.live()).toEqual([]);
    expect(await refused(machine.sshHost, machine.sshPort)).toBe(true);
    expect(existsSync(home)).toBe(false);
  });

  it('without user-data (or keys in it) nobody can log in', async () => {
    const backend = createMachineBackend('ssh');
    backends.push(backend);
    const identity = generateSshIdentity();
    const machine = await backend.start(awsSpec('i-nokeys', '#!/bin/sh\necho no keys here\n'));
    await expect(run(machine, identity, 'true', 1000)).rejects.toThrow();
    await machine.terminate();
  });

  it('dispose terminates what a test left running and says so on stderr', async () => {
    const backend = createMachineBackend('ssh');
    const identity = generateSshIdentity();
    const machine = await backend.start(awsSpec('i-left', ignitionWithKey(identity.publicKey)));
    const written: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    await backend.dispose();
    vi.restoreAllMocks();
    expect(written.join('')).toMatch(/i-left/);
    expect(machine.state).toBe('terminated');
    expect(await refused(machine.sshHost, machine.sshPort)).toBe(true);
  });
});
