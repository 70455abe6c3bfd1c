import { join } from 'node:path';
import {
  BaseMachine,
  type CreateMachineRequest,
  errorMessage,
  throwIfAborted,
  underFreshDeadline,
} from '@mantle/cluster';
import type { Device } from './api/schemas.js';
import type { PacketCluster } from './cluster.js';
import { SosConsole } from './console.js';
import { destroyDevice, installDevice } from './devices.js';
import { ledgerKinds, type PacketFlight } from './flight.js';
import { deviceHostname } from './tags.js';

/**
 * A device (§5.6): `custom_ipxe` with the staged iPXE script, tags `mantle` + the run, the flight's
 * key (none when the cluster asks for no key in metadata). Ready once active and installed.
 */
export class PacketMachine extends BaseMachine {
  private constructor(
    private readonly packetCluster: PacketCluster,
    id: string,
    ip: string,
    privateIp: string | undefined,
    ledgerKey: string,
    private readonly sos: SosConsole | undefined,
  ) {
    super(packetCluster, { id, ip, privateIp: privateIp ?? ip, ledgerKey });
  }

  private get flight(): PacketFlight {
    return this.packetCluster.packetFlight;
  }

  static async launch(cluster: PacketCluster, request: CreateMachineRequest): Promise<PacketMachine> {
    const flight = cluster.packetFlight;
    throwIfAborted(request.signal);
    const keyIds = cluster.config.noSshKeyInMetadata || !flight.key ? [] : [flight.key.id];
    let created: { id: string; ledgerKey: string } | undefined;
    let sos: Promise<SosConsole> | undefined;
    // SOS needs the flight's key on the device (mantle: only without NoSSHKeyInMetadata)
    const openConsole = (d: Device) => {
      if (!keyIds.length) return;
      sos = SosConsole.open({
        endpoint:
          flight.options.sosEndpoint ??
          d.sos ??
          `sos.${d.facility?.code ?? flight.options.metro}.platformequinix.com`,
        deviceId: d.id,
        privateKey: cluster.ctx.ssh.privateKey,
        file: join(cluster.outputDir, `console-${d.id}.txt`),
        log: cluster.log,
      });
    };
    try {
      const installed = await installDevice(
        flight.client,
        flight.storage,
        flight.options,
        {
          hostname: deviceHostname(cluster.name),
          userData: request.userData.toString(),
          tags: flight.tags,
          sshKeyIds: keyIds,
        },
        {
          signal: request.signal,
          waits: flight.waits,
          log: cluster.log,
          onActive: openConsole,
          onCreated: (d) => {
            created = {
              id: d.id,
              ledgerKey: cluster.ctx.ledger.created({
                platform: 'packet',
                kind: ledgerKinds.device,
                id: d.id,
                location: flight.options.metro,
                cluster: cluster.name,
                ...(cluster.config.test ? { test: cluster.config.test } : {}),
              }),
            };
          },
        },
      );
      return new PacketMachine(
        cluster,
        installed.device.id,
        installed.publicIp,
        installed.privateIp,
        created!.ledgerKey,
        await sos,
      );
    } catch (e) {
      (await sos?.catch(() => undefined))?.close();
      if (created) {
        const made = created;
        try {
          await underFreshDeadline(`destroying device ${made.id}`, 6 * 60_000, (s) =>
            destroyDevice(flight.client, made.id, s),
          );
          cluster.ctx.ledger.destroyed(made.ledgerKey);
        } catch (t) {
          cluster.log.warn('could not destroy a device that did not come up', {
            device: made.id,
            error: errorMessage(t),
          });
        }
      }
      throw e;
    }
  }

  async consoleOutput(): Promise<string> {
    return this.sos?.output() ?? '';
  }

  protected async terminate(signal: AbortSignal): Promise<void> {
    try {
      await destroyDevice(this.flight.client, this.id, signal);
      // SOS ends the stream once the device is gone: what it sent until then is kept
      await this.sos?.ended(5_000);
    } finally {
      this.sos?.close();
    }
  }
}
