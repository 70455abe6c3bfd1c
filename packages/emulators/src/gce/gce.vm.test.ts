import { spawnSync } from 'node:child_process';
import type { protos } from '@google-cloud/compute';
import { connectSsh, execSsh, generateSshIdentity } from '@mantle/cluster';
import { afterAll, describe, expect, it } from 'vitest';
import { accessToken, type GceClients, gceClients } from '../../test/support/gce-clients.js';
import { expectIgnitionRan, provisioningConfig } from '../../test/support/vm-proof.js';
import { expectNoViolations } from '../http/violations.js';
import { type GceEmulator, startGceEmulator } from './emulator.js';

// ONE real VM (the minimal test image) as a GCE instance: the guest's real Ignition runs with
// -platform gcp and must fetch the user-data metadata from the emulator's metadata server.
const qemuMissing = spawnSync('qemu-system-x86_64', ['--version']).status !== 0;

describe.skipIf(qemuMissing && !process.env.CI)('GCE emulator on a qemu machine (one minimal VM)', () => {
  let emulator: GceEmulator | undefined;
  let gce: GceClients | undefined;
  afterAll(async () => {
    await gce?.close();
    await emulator?.stop();
  });

  it(
    "boots an instance whose user-data is an Ignition config: Ignition's gcp provider fetches it, SSH answers at natIP",
    async () => {
      emulator = await startGceEmulator({ machines: 'qemu', flavor: 'minimal', log: () => {} });
      const { project, zone } = emulator;
      gce = gceClients(emulator.endpoint, project, await accessToken(emulator.keyFile));
      const identity = generateSshIdentity();
      const config = provisioningConfig(identity.publicKey, 'served by the GCE metadata server\n');
      const t0 = performance.now();
      const [lro] = await gce.instances.insert({
        project,
        zone,
        instanceResource: {
          name: 'kola-vm',
          machineType: `zones/${zone}/machineTypes/e2-small`,
          disks: [
            {
              boot: true,
              autoDelete: true,
              initializeParams: { sourceImage: `global/images/${emulator.imageName}` },
            },
          ],
          networkInterfaces: [{ accessConfigs: [{ type: 'ONE_TO_ONE_NAT', name: 'External NAT' }] }],
          metadata: { items: [{ key: 'user-data', value: JSON.stringify(config) }] },
          labels: { 'created-by': 'mantle' },
        },
      });
      let op = lro.latestResponse as protos.google.cloud.compute.v1.IOperation;
      while (op.status !== 'DONE')
        [op] = await gce.zoneOperations.wait({ project, zone, operation: op.name! });
      expect(op.error).toBeFalsy();
      const [instance] = await gce.instances.get({ project, zone, instance: 'kola-vm' });
      const natIP = instance.networkInterfaces![0]!.accessConfigs![0]!.natIP!;
      const networkIP = instance.networkInterfaces![0]!.networkIP!;
      expect(natIP).toMatch(/^127\.\d+\.\d+\.\d+$/);

      const client = await connectSsh({ host: natIP, port: 22 }, { identity, timeoutMs: 5 * 60_000 });
      try {
        const sh = async (command: string) => (await execSsh(client, command, { timeoutMs: 30_000 })).stdout;
        expect(await sh('cat /etc/kola/emulated.txt')).toBe('served by the GCE metadata server\n');
        process.stderr.write(
          `gce emulator: insert to SSH (minimal, -platform gcp) ${((performance.now() - t0) / 1000).toFixed(1)} s\n`,
        );
        expect(await sh('grep metadata.google.internal /etc/hosts')).toMatch(
          /^169\.254\.169\.254\s+metadata\.google\.internal/,
        );
        expect(await sh('ip -4 -o addr show')).toContain(`inet ${networkIP}/16`);
      } finally {
        client.end();
      }

      // the serial console, through getSerialPortOutput, shows Ignition's gcp provider at work
      const [serial] = await gce.instances.getSerialPortOutput({
        project,
        zone,
        instance: 'kola-vm',
        port: 1,
      });
      const console = serial.contents ?? '';
      expectIgnitionRan(console, 'gcp');
      expect(console).toMatch(/computeMetadata\/v1\/instance\/attributes\/user-data/);
      expect(Number(serial.next)).toBe(Buffer.byteLength(console));

      const [del] = await gce.instances.delete({ project, zone, instance: 'kola-vm' });
      op = del.latestResponse as protos.google.cloud.compute.v1.IOperation;
      while (op.status !== 'DONE')
        [op] = await gce.zoneOperations.wait({ project, zone, operation: op.name! });
      expect(emulator.backend.live()).toEqual([]);
      expectNoViolations(emulator);
    },
    15 * 60_000,
  );
});
