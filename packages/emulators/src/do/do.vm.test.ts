import { spawnSync } from 'node:child_process';
import { connectSsh, execSsh, generateSshIdentity } from '@mantle/cluster';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { doFetch, pollUntil } from '../../test/support/do.js';
import { expectIgnitionRan, provisioningConfig } from '../../test/support/vm-proof.js';
import { expectNoViolations } from '../http/violations.js';
import { type DoEmulator, startDoEmulator } from './emulator.js';

// ONE real VM through the DigitalOcean emulator (qemu backend, minimal image): the guest's real
// Ignition runs with -platform digitalocean and fetches the droplet's user-data from the metadata
// service at 169.254.169.254; SSH with the config's key works at the address the API reports.
const qemuMissing = spawnSync('qemu-system-x86_64', ['--version']).status !== 0;

describe.skipIf(qemuMissing && !process.env.CI)('the DigitalOcean emulator on qemu machines', () => {
  let emulator: DoEmulator;
  beforeAll(async () => {
    emulator = await startDoEmulator({ machines: 'qemu', flavor: 'minimal' });
  });
  afterAll(() => emulator?.stop());

  it(
    "boots a droplet whose Ignition config the guest fetches from DigitalOcean's metadata service",
    async () => {
      const api = doFetch(emulator);
      const identity = generateSshIdentity();
      const config = provisioningConfig(identity.publicKey, 'served by DO metadata\n');
      const created = await api('POST', '/v2/droplets', {
        name: 'kola-vm',
        region: 'sfo2',
        size: 's-1vcpu-1gb',
        image: emulator.imageId,
        user_data: JSON.stringify(config),
        tags: ['mantle'],
      });
      expect(created.status).toBe(202);
      const id: number = created.body.droplet.id;
      const active = await pollUntil(
        () => api('GET', `/v2/droplets/${id}`),
        (a) => a.body.droplet.status === 'active',
        15 * 60_000,
      );
      const v4 = active.body.droplet.networks.v4 as { type: string; ip_address: string }[];
      const host = v4.find((n) => n.type === 'public')!.ip_address;
      const privateIp = v4.find((n) => n.type === 'private')!.ip_address;
      expect(host).toMatch(/^127\.\d+\.\d+\.\d+$/);

      const client = await connectSsh(
        { host, port: 22 },
        { identity, timeoutMs: 5 * 60_000, signal: AbortSignal.timeout(6 * 60_000) },
      );
      try {
        expect((await execSsh(client, 'cat /etc/kola/emulated.txt', { timeoutMs: 30_000 })).stdout).toBe(
          'served by DO metadata\n',
        );
        const addresses = (await execSsh(client, 'ip -4 -o addr show', { timeoutMs: 30_000 })).stdout;
        expect(addresses).toContain(`inet ${privateIp}/16`);
      } finally {
        client.end();
      }

      expect(emulator.metadataRequests(id)).toContain('GET /metadata/v1/user-data');
      const console = emulator.machine(id)?.consoleOutput() ?? '';
      expectIgnitionRan(console, 'digitalocean');
      const fetched = console.split('\n').filter((l) => /GET http:\/\/169\.254\.169\.254\/metadata/.test(l));
      expect(fetched.length).toBeGreaterThan(0);
      process.stderr.write(`do on qemu: Ignition fetched: ${fetched[0]?.trim()}\n`);

      // an image the qemu machines cannot boot is refused, saying why
      const ubuntu = await api('POST', '/v2/droplets', {
        name: 'kola-ubuntu',
        size: 's-1vcpu-1gb',
        image: 'ubuntu-24-04-x64',
      });
      expect(ubuntu.status).toBe(422);
      expect(ubuntu.body.message).toMatch(/qemu machines boot only kola's test image/);

      expect((await api('DELETE', `/v2/droplets/${id}`)).status).toBe(204);
      expect(emulator.backend.live()).toEqual([]);
      expectNoViolations(emulator);
    },
    20 * 60_000,
  );
});
