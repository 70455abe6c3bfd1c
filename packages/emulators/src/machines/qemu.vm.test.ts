import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connectSsh, execSsh, generateSshIdentity, type SshIdentity } from '@mantle/cluster';
import { afterAll, describe, expect, it } from 'vitest';
import { expectIgnitionRan, provisioningConfig, qemusStartedBy } from '../../test/support/vm-proof.js';
import { createImdsHandler } from '../aws/imds.js';
import { type BackendMachine, createMachineBackend } from './backend.js';

// ONE real VM (the minimal test image, built on first use) through the qemu backend, as the AWS
// emulator starts it: Ignition's aws provider must fetch its config from the IMDS served here.
const qemuMissing = spawnSync('qemu-system-x86_64', ['--version']).status !== 0;

/** QEMU processes of this test process's backend, by pid, with their argv. */
const ourQemus = () => qemusStartedBy(process.pid);

async function sshRun(machine: BackendMachine, identity: SshIdentity, command: string, timeoutMs: number) {
  const client = await connectSsh(
    { host: machine.sshHost, port: machine.sshPort },
    { identity, timeoutMs, signal: AbortSignal.timeout(timeoutMs + 10_000) },
  );
  try {
    return (await execSsh(client, command, { timeoutMs: 30_000 })).stdout;
  } finally {
    client.end();
  }
}

describe.skipIf(qemuMissing && !process.env.CI)('qemu machine backend (one minimal VM)', () => {
  const backend = createMachineBackend('qemu');
  afterAll(() => backend.dispose());

  it(
    'boots the image with -platform aws: Ignition fetches the config from IMDS, SSH answers at the machine address',
    async () => {
      const identity = generateSshIdentity();
      const config = provisioningConfig(identity.publicKey, 'served by IMDS\n');
      const imds = createImdsHandler({
        instanceId: 'i-0123456789abcdef0',
        userData: Buffer.from(JSON.stringify(config)),
        localIpv4: '172.31.7.9',
        publicIpv4: '',
        region: 'us-west-2',
        instanceType: 't3.micro',
        amiId: 'ami-12345678',
      });
      const t0 = performance.now();
      const machine = await backend.start({
        instanceId: 'i-0123456789abcdef0',
        provider: 'aws',
        metadata: imds,
        network: 'subnet-1',
        privateIp: '172.31.7.9',
        signal: AbortSignal.timeout(10 * 60_000),
      });
      expect(machine.state).toBe('running');
      expect(machine.sshHost).toMatch(/^127\.\d+\.\d+\.\d+$/);
      expect(machine.sshHost).not.toBe('127.0.0.1');
      expect(machine.sshPort).toBe(22);
      expect(backend.live()).toEqual(['i-0123456789abcdef0']);

      const file = await sshRun(machine, identity, 'cat /etc/kola/emulated.txt', 5 * 60_000);
      const bootToSsh = (performance.now() - t0) / 1000;
      process.stderr.write(`qemu backend: boot to SSH (minimal, -platform aws) ${bootToSsh.toFixed(1)} s\n`);
      expect(file).toBe('served by IMDS\n');
      const addresses = await sshRun(machine, identity, 'ip -4 -o addr show', 30_000);
      expect(addresses).toContain('inet 172.31.7.9/16');
      expect(addresses).toContain('inet 169.254.0.15/16');

      // Ignition's aws provider, IMDSv2: a token first, then the user-data with it
      expect(imds.requests).toContain('PUT /latest/api/token');
      expect(imds.requests.some((r) => /^GET \/[^/]+\/user-data$/.test(r))).toBe(true);
      const console = machine.consoleOutput();
      expectIgnitionRan(console, 'aws');
      expect(console).toMatch(/169\.254\.169\.254\/[^/\s]+\/user-data/);

      // stop: powered off, nothing runs; start: the same address answers again
      const [pid, argv] = [...ourQemus()][0] ?? [];
      expect(pid).toBeDefined();
      await machine.stop();
      expect(machine.state).toBe('stopped');
      expect(ourQemus().size).toBe(0);
      await machine.start();
      expect(machine.state).toBe('running');
      expect(await sshRun(machine, identity, 'cat /etc/kola/emulated.txt', 5 * 60_000)).toBe(
        'served by IMDS\n',
      );
      expect(machine.consoleOutput().match(/kola-init: Ignition finished/g)?.length).toBe(2);

      // terminate: no QEMU, no files (the VM's directory held its sockets and console)
      const qmpSocket = argv?.[(argv?.indexOf('-qmp') ?? -2) + 1]?.replace(/^unix:/, '').split(',')[0] ?? '';
      const vmDir = qmpSocket.replace(/\/qmp\.sock$/, '');
      expect(existsSync(vmDir)).toBe(true);
      await machine.terminate();
      expect(machine.state).toBe('terminated');
      expect(ourQemus().size).toBe(0);
      expect(existsSync(vmDir)).toBe(false);
      expect(backend.live()).toEqual([]);
      expect(machine.consoleOutput()).toMatch(/Ignition finished/);
    },
    15 * 60_000,
  );
});
