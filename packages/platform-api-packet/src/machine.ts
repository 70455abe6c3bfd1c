import { BaseMachine, type CreateMachineRequest, errorMessage, throwIfAborted } from '@mantle/cluster';
import type { PacketCluster } from './cluster.js';
import { destroyDevice, installDevice, underFreshDeadline } from './devices.js';
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
      );
    } catch (e) {
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
    return '';
  }

  protected async terminate(signal: AbortSignal): Promise<void> {
    await destroyDevice(this.flight.client, this.id, signal);
  }
}
