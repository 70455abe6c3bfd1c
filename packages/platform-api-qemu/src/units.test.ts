import { mkdtempSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, renderUserData, UserData } from '@mantle/cluster';
import { describe, expect, it } from 'vitest';
import { chooseAccel, type HostFacts, kvmProblem } from './accel.js';
import { privateAddress } from './cluster.js';
import { EthernetHub } from './hub.js';
import { cloudConfigJson } from './machine.js';
import { parseForwardedPort } from './qmp.js';

const hardwareKvm: HostFacts = {
  kvmDevice: true,
  kvmUsable: true,
  cpuFlags: 'flags : fpu vme vmx sse',
  softwareKvm: false,
};

describe('accelerator choice', () => {
  it('uses KVM only where it can work', () => {
    expect(chooseAccel('auto', hardwareKvm).accel).toBe('kvm');
    expect(chooseAccel('auto', { ...hardwareKvm, softwareKvm: true })).toMatchObject({
      accel: 'tcg',
      reason: expect.stringContaining('software KVM'),
    });
    expect(chooseAccel('auto', { ...hardwareKvm, cpuFlags: 'flags : fpu sse' }).reason).toMatch(
      /no vmx\/svm/,
    );
    expect(chooseAccel('auto', { ...hardwareKvm, kvmDevice: false }).reason).toMatch(/does not exist/);
    expect(chooseAccel('auto', { ...hardwareKvm, kvmUsable: false }).reason).toMatch(/kvm group/);
  });

  it('gives TCG the rdrand CPU and scaled timeouts', () => {
    const tcg = chooseAccel('tcg', hardwareKvm);
    expect(tcg.args).toEqual(['-accel', 'tcg', '-cpu', 'qemu64,+rdrand']);
    expect(tcg.timeoutScale).toBeGreaterThan(1);
  });

  it('refuses --qemu-accel kvm where KVM cannot work, naming why', () => {
    expect(() => chooseAccel('kvm', { ...hardwareKvm, softwareKvm: true })).toThrow(ConfigError);
    expect(() => chooseAccel('kvm', { ...hardwareKvm, softwareKvm: true })).toThrow(/kvm_pvm/);
    expect(kvmProblem(hardwareKvm)).toBeUndefined();
  });
});

describe('QMP answers', () => {
  it('reads the forwarded SSH port from info usernet', () => {
    const usernet = [
      'VLAN -1 (n0):',
      '  Protocol[State]    FD  Source Address  Port   Dest. Address  Port RecvQ SendQ',
      '  TCP[HOST_FORWARD]  13       127.0.0.1 43449       10.0.2.15    22     0     0',
    ].join('\n');
    expect(parseForwardedPort(usernet)).toBe(43449);
    expect(parseForwardedPort('VLAN -1 (n0):\n')).toBeUndefined();
  });
});

describe('private network', () => {
  it('gives each slot its own address and MAC', () => {
    expect(privateAddress(1)).toEqual({ ip: '172.24.213.11', mac: 'aa:bb:cc:dd:ee:01' });
    expect(privateAddress(17)).toEqual({ ip: '172.24.213.27', mac: 'aa:bb:cc:dd:ee:11' });
    expect(() => privateAddress(0)).toThrow(RangeError);
  });

  const frame = (payload: string) => {
    const body = Buffer.from(payload);
    const head = Buffer.alloc(4);
    head.writeUInt32BE(body.length);
    return Buffer.concat([head, body]);
  };
  const open = (path: string) =>
    new Promise<Socket>((resolve, reject) => {
      const s = connect(path, () => resolve(s));
      s.once('error', reject);
    });

  it('the hub copies whole frames to every other port, even when they arrive in pieces', async () => {
    const hub = await EthernetHub.listen(join(mkdtempSync(join(tmpdir(), 'hub-')), 'net.sock'));
    const [a, b, c] = await Promise.all([open(hub.path), open(hub.path), open(hub.path)]);
    const received = { a: Buffer.alloc(0), b: Buffer.alloc(0), c: Buffer.alloc(0) };
    a!.on('data', (d: Buffer) => (received.a = Buffer.concat([received.a, d])));
    b!.on('data', (d: Buffer) => (received.b = Buffer.concat([received.b, d])));
    c!.on('data', (d: Buffer) => (received.c = Buffer.concat([received.c, d])));
    while (hub.connections < 3) await new Promise((r) => setTimeout(r, 10));
    const f = frame('ethernet frame from a');
    a!.write(f.subarray(0, 3)); // a length prefix split across writes
    await new Promise((r) => setTimeout(r, 20));
    a!.write(f.subarray(3));
    await new Promise((r) => setTimeout(r, 100));
    expect(received.b.equals(f)).toBe(true);
    expect(received.c.equals(f)).toBe(true);
    expect(received.a.length).toBe(0); // never echoed to the sender
    for (const s of [a, b, c]) s!.destroy();
    await hub.close();
  });
});

describe('cloud-config for the guest agent', () => {
  it('translates the keys the agent handles and lists the rest', () => {
    const ud = UserData.cloudConfig('#cloud-config\nhostname: h1\nruncmd:\n  - echo hi\npackages: [vim]\n');
    const json = JSON.parse(
      cloudConfigJson(renderUserData(ud, { sshKeys: ['ssh-ed25519 AAAA k'] })),
    ) as Record<string, unknown>;
    expect(json).toMatchObject({
      hostname: 'h1',
      runcmd: ['echo hi'],
      ssh_authorized_keys: ['ssh-ed25519 AAAA k'],
    });
    expect(json.unknown_keys).toEqual(['packages']);
  });
});
