import {
  type BaseCluster,
  BaseFlight,
  CleanupError,
  type ClusterConfig,
  DisposableStack,
  destroyLedgerEntryByKind,
  type LedgerEntry,
  type PlatformContext,
  underFreshDeadline,
} from '@mantle/cluster';
import type { MetalClient } from './api/client.js';
import type { SshKey } from './api/schemas.js';
import { PacketCluster } from './cluster.js';
import { createMetalClient } from './credentials.js';
import { type DeviceWaits, destroyDevice, waitsOf } from './devices.js';
import type { PacketOptions } from './options.js';
import { Storage } from './storage.js';
import { ownerTag, runTag, sshKeyLabel } from './tags.js';

/** Ledger kinds: what `kola cleanup` finds in a run's ledger. */
export const ledgerKinds = { device: 'device', sshKey: 'ssh-key' } as const;

/**
 * One per kola run: the project checked, the staging storage opened, and the flight's project key
 * `kola-<run>` registered (removed with the flight). Devices carry `mantle` and `kola-run:<run>`.
 */
export class PacketFlight extends BaseFlight {
  readonly tags: string[];
  /** The run id in the devices' `kola-run:` tag and the key's label. */
  readonly runId: string;
  key: SshKey | undefined;

  private constructor(
    ctx: PlatformContext,
    readonly options: PacketOptions,
    readonly client: MetalClient,
    readonly storage: Storage,
    readonly waits: DeviceWaits,
    private readonly resources: DisposableStack,
  ) {
    super(ctx, 'packet');
    this.runId = ctx.tags['kola-run'] ?? this.name;
    this.tags = [ownerTag, runTag(this.runId)];
  }

  static async create(
    options: PacketOptions,
    ctx: PlatformContext,
    waits: Partial<DeviceWaits> = {},
  ): Promise<PacketFlight> {
    const resources = new DisposableStack();
    try {
      const client = createMetalClient(options, ctx.log);
      // the key and project are checked before anything is made
      const project = await client.getProject(ctx.signal);
      const storage = await Storage.open(options, 'kola run -p packet');
      resources.defer(() => storage.close());
      const flight = new PacketFlight(
        ctx,
        options,
        client,
        storage,
        { ...waitsOf(options), ...waits },
        resources,
      );
      flight.key = await flight.registerKey(ctx.ssh.publicKey);
      ctx.log.info('packet: flight ready', { project: project.id, key: flight.key.label });
      return flight;
    } catch (e) {
      return resources.rollBack(e);
    }
  }

  private async registerKey(publicKey: string): Promise<SshKey> {
    const label = sshKeyLabel(this.runId);
    // the label is known before the call: a run killed mid-call still lists the key
    const ledgerKey = this.ctx.ledger.created({ platform: 'packet', kind: ledgerKinds.sshKey, id: label });
    let key: SshKey | undefined;
    this.resources.defer(async () => {
      try {
        await underFreshDeadline(`deleting SSH key ${label}`, 60_000, (signal) =>
          key ? this.client.deleteSshKey(key.id, signal) : deleteKeysLabelled(this.client, label, signal),
        );
      } catch (e) {
        throw new CleanupError(`SSH key ${label} may be left behind`, [e]);
      }
      this.ctx.ledger.destroyed(ledgerKey);
    });
    key = await this.client.createSshKey(label, publicKey.trim(), this.ctx.signal);
    return key;
  }

  override properties(): Record<string, unknown> {
    return { project: this.client.projectId };
  }

  protected async createCluster(config: ClusterConfig): Promise<BaseCluster> {
    return new PacketCluster(this, config);
  }

  protected override destroyFlightResources(): Promise<void> {
    return this.resources.disposeAsync();
  }
}

async function deleteKeysLabelled(client: MetalClient, label: string, signal: AbortSignal): Promise<void> {
  for (const k of await client.sshKeys(signal))
    if (k.label === label) await client.deleteSshKey(k.id, signal);
}

/** `kola cleanup --run DIR`: a device (waited until gone) or the flight's key (by label). */
export async function destroyPacketLedgerEntry(
  entry: LedgerEntry,
  options: PacketOptions,
  ctx: PlatformContext,
): Promise<void> {
  const client = createMetalClient(options, ctx.log);
  await destroyLedgerEntryByKind(entry, ctx, 'packet', {
    [ledgerKinds.device]: (signal) => destroyDevice(client, entry.id, signal),
    [ledgerKinds.sshKey]: (signal) => deleteKeysLabelled(client, entry.id, signal),
  });
}
