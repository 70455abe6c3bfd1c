import {
  type BaseCluster,
  BaseFlight,
  type ClusterConfig,
  ConfigError,
  destroyLedgerEntryByKind,
  type LedgerEntry,
  type PlatformContext,
} from '@mantle/cluster';
import { EsxCluster } from './cluster.js';
import { type ConnectHooks, connectEsx } from './connect.js';
import { findVm, firstEthernetCard, nicBacking, type Placement, resolvePlacement } from './inventory.js';
import type { EsxOptions } from './options.js';
import type { VimClient } from './soap/client.js';
import { children, type MoRef, text, textOf, type XmlObject } from './soap/xml.js';
import { powerOffAndDestroy } from './vm.js';

export const ledgerKinds = { vm: 'vm' } as const;

export interface EsxTuning extends ConnectHooks {
  /** How long a powered-on VM may take to report an IPv4 (mantle: 1000 s). */
  ipTimeoutMs: number;
  /** More extraConfig for every clone (tests: vcsim's `SET.guest.ipAddress`). */
  extraConfig: Record<string, string>;
}

export const defaultTuning: EsxTuning = { ipTimeoutMs: 1_000_000, extraConfig: {} };

export interface BaseVm {
  ref: MoRef;
  name: string;
  nic?: { type: string; key: string };
  /** vApp property id → key, of the properties the base VM defines. */
  vAppProperties: Map<string, string>;
}

/** One per kola run: the session, the placement resolved once, the base VM read once. */
export class EsxFlight extends BaseFlight {
  private constructor(
    ctx: PlatformContext,
    readonly options: EsxOptions,
    readonly client: VimClient,
    readonly placement: Placement,
    readonly base: BaseVm,
    readonly nicBacking: XmlObject | undefined,
    readonly tuning: EsxTuning,
  ) {
    super(ctx, 'esx');
  }

  static async create(
    options: EsxOptions,
    ctx: PlatformContext,
    tuning: Partial<EsxTuning> = {},
  ): Promise<EsxFlight> {
    const t = { ...defaultTuning, ...tuning };
    if (!options.baseVm) {
      throw new ConfigError('esx: no base VM to clone: pass --esx-base-vm (ore esx create-base makes one)');
    }
    const client = await connectEsx(options, ctx.log, ctx.signal, t);
    try {
      const placement = await resolvePlacement(client, options, ctx.signal);
      const base = await readBaseVm(client, placement, options.baseVm, ctx.signal);
      const backing = placement.network ? await nicBacking(client, placement.network, ctx.signal) : undefined;
      ctx.log.info('esx: flight ready', {
        server: client.content.fullName,
        datacenter: placement.datacenter.name,
        datastore: placement.datastore.name,
        pool: placement.pool.path,
        base: base.name,
        vApp: base.vAppProperties.size > 0,
      });
      return new EsxFlight(ctx, options, client, placement, base, backing, t);
    } catch (e) {
      await client[Symbol.asyncDispose]();
      throw e;
    }
  }

  override properties(): Record<string, unknown> {
    return {
      server: this.client.transport.url.host,
      datacenter: this.placement.datacenter.name,
      datastore: this.placement.datastore.name,
      resourcePool: this.placement.pool.path,
      base_vm_name: this.base.name,
    };
  }

  protected async createCluster(config: ClusterConfig): Promise<BaseCluster> {
    return new EsxCluster(this, config);
  }

  protected override async destroyFlightResources(): Promise<void> {
    await this.client[Symbol.asyncDispose]();
  }
}

export async function readBaseVm(
  client: VimClient,
  placement: Placement,
  nameOrPath: string,
  signal: AbortSignal,
): Promise<BaseVm> {
  const ref = await findVm(client, placement, nameOrPath, signal);
  const props = await client.properties(ref, ['name', 'config.hardware.device', 'config.vAppConfig'], signal);
  const vAppProperties = new Map<string, string>();
  for (const p of children(props.get('config.vAppConfig'), 'property')) {
    const id = textOf(p, 'id');
    const key = textOf(p, 'key');
    if (id && key) vAppProperties.set(id, key);
  }
  const nic = firstEthernetCard(props.get('config.hardware.device'));
  return { ref, name: text(props.get('name')) ?? nameOrPath, ...(nic ? { nic } : {}), vAppProperties };
}

/** `kola cleanup --run DIR`: a VM the ledger still lists, by name; gone already is success. */
export async function destroyEsxLedgerEntry(
  entry: LedgerEntry,
  options: EsxOptions,
  ctx: PlatformContext,
): Promise<void> {
  await using client = await connectEsx(options, ctx.log, ctx.signal);
  await destroyLedgerEntryByKind(entry, ctx, 'esx', {
    [ledgerKinds.vm]: async (signal) => {
      const vms = await client.list('VirtualMachine', ['name'], signal);
      for (const vm of vms)
        if (text(vm.props.get('name')) === entry.id) await powerOffAndDestroy(client, vm.obj, signal);
    },
  });
}
