import type { EC2Client, Tag } from '@aws-sdk/client-ec2';
import {
  type BaseCluster,
  BaseFlight,
  CleanupError,
  type ClusterConfig,
  DisposableStack,
  deadline,
  destroyLedgerEntryByKind,
  type LedgerEntry,
  type PlatformContext,
  releaseDeadline,
} from '@mantle/cluster';
import { type ResolvedAmi, resolveAmi } from './ami.js';
import { type AwsClients, createAwsClients } from './api/clients.js';
import { ownImagesNamed, terminateInstances } from './api/instances.js';
import { deleteKeyPair, importKeyPair } from './api/key-pairs.js';
import { AwsCluster } from './cluster.js';
import { waitTerminated } from './machine.js';
import { type AwsNetwork, ensureNetwork } from './network.js';
import type { AwsOptions } from './options.js';
import { ownerTag } from './tags.js';

/** Waits and bounds of the machine layer; tests shorten them, production keeps the defaults. */
export interface AwsTuning {
  /** First interval of DescribeInstances polls (grows to 10 s). */
  pollIntervalMs: number;
  /** How long to wait for a new instance to run with a public address (mantle: 10 min). */
  runningTimeoutMs: number;
  /**
   * How long to poll the console after terminating until it changes (mantle: 5 min, every 5 s). EC2
   * posts the final console late; a run that was interrupted does not wait for it.
   */
  consoleSettleMs: number;
  consolePollMs: number;
}

export const defaultTuning: AwsTuning = {
  pollIntervalMs: 2000,
  runningTimeoutMs: 10 * 60_000,
  consoleSettleMs: 30_000,
  consolePollMs: 5000,
};

/** Ledger kinds: what `kola cleanup` finds in a run's ledger. */
export const ledgerKinds = { instance: 'instance', keyPair: 'key-pair' } as const;

/** The run's tags as EC2 tags: `created-by` is mantle's `CreatedBy` key. */
export function ec2Tags(tags: Record<string, string>, extra: Record<string, string> = {}): Tag[] {
  const all: Record<string, string> = { [ownerTag.key]: ownerTag.value };
  for (const [key, value] of Object.entries({ ...tags, ...extra })) {
    all[key === 'created-by' ? ownerTag.key : key] = value;
  }
  return Object.entries(all).map(([Key, Value]) => ({ Key, Value }));
}

/**
 * One per kola run: the resolved AMI, the shared security group and its network (found by name,
 * created once per region), and the key pair `kola-<flight>` holding the flight's public key.
 */
export class AwsFlight extends BaseFlight {
  readonly keyName: string;
  /** Index of the subnet the last launch succeeded in: capacity errors move it to the next zone. */
  subnetCursor = 0;

  private constructor(
    ctx: PlatformContext,
    readonly options: AwsOptions,
    readonly clients: AwsClients,
    readonly ec2: EC2Client,
    readonly ami: ResolvedAmi,
    readonly network: AwsNetwork,
    readonly tuning: AwsTuning,
    /** What the flight made, undone in reverse by destroy (or by a create that fails part way). */
    private readonly resources: DisposableStack,
  ) {
    super(ctx, 'aws');
    // `kola-*` is what gc looks for; the default flight name (`kola-<hex>`) already is
    this.keyName = this.name.startsWith('kola-') ? this.name : `kola-${this.name}`;
  }

  static async create(
    options: AwsOptions,
    ctx: PlatformContext,
    tuning: Partial<AwsTuning> = {},
  ): Promise<AwsFlight> {
    const resources = new DisposableStack();
    const clients = resources.adopt(createAwsClients(options), (c) => c.destroy());
    try {
      const ec2 = await clients.ec2();
      const ami = await resolveAmi(options, (name) => ownImagesNamed(ec2, name, ctx.signal));
      const network = await ensureNetwork(`${options.endpoint ?? ''}|${options.region}|${options.sg}`, {
        ec2,
        name: options.sg,
        tags: ec2Tags({}, { Name: options.sg, 'created-at': new Date().toISOString() }),
        log: ctx.log,
        signal: ctx.signal,
      });
      const tunings = { ...defaultTuning, consoleSettleMs: options.consoleWait * 1000, ...tuning };
      const flight = new AwsFlight(ctx, options, clients, ec2, ami, network, tunings, resources);
      await flight.importKey();
      ctx.log.info('aws: flight ready', {
        ami: ami.amiId,
        securityGroup: network.securityGroupId,
        keyPair: flight.keyName,
      });
      return flight;
    } catch (e) {
      return resources.rollBack(e);
    }
  }

  private async importKey(): Promise<void> {
    // recorded before the call: a run killed mid-call still lists the key for `kola cleanup`
    const ledgerKey = this.ctx.ledger.created({
      platform: 'aws',
      kind: ledgerKinds.keyPair,
      id: this.keyName,
      location: this.options.region,
    });
    // deleted even when the import fails: EC2 may have made the key pair before the answer was lost
    this.resources.defer(() => this.deleteKey(ledgerKey));
    await importKeyPair(
      this.ec2,
      this.keyName,
      this.ctx.ssh.publicKey,
      ec2Tags(this.ctx.tags, { Name: this.keyName }),
      this.ctx.signal,
    );
  }

  private async deleteKey(ledgerKey: string): Promise<void> {
    const signal = deadline(undefined, 60_000, `deleting key pair ${this.keyName}`);
    try {
      await deleteKeyPair(this.ec2, this.keyName, signal);
    } catch (e) {
      throw new CleanupError(`key pair ${this.keyName} may be left behind`, [e]);
    } finally {
      releaseDeadline(signal);
    }
    this.ctx.ledger.destroyed(ledgerKey);
  }

  override properties(): Record<string, unknown> {
    return { ami: this.ami.amiId, ...(this.ami.amiName ? { amiName: this.ami.amiName } : {}) };
  }

  protected async createCluster(config: ClusterConfig): Promise<BaseCluster> {
    return new AwsCluster(this, config);
  }

  protected override destroyFlightResources(): Promise<void> {
    return this.resources.disposeAsync();
  }
}

/**
 * `kola cleanup --run DIR`: terminates an instance or deletes a key pair the run's ledger still
 * lists. Already gone is success.
 */
export async function destroyAwsLedgerEntry(
  entry: LedgerEntry,
  options: AwsOptions,
  ctx: PlatformContext,
): Promise<void> {
  const region = entry.location ?? options.region;
  const clients = createAwsClients(options, { region });
  try {
    await destroyLedgerEntryByKind(entry, ctx, 'aws', {
      [ledgerKinds.instance]: async (signal) => {
        const ec2 = await clients.ec2();
        await terminateInstances(ec2, [entry.id], signal);
        await waitTerminated(ec2, entry.id, { signal, pollIntervalMs: defaultTuning.pollIntervalMs });
      },
      [ledgerKinds.keyPair]: async (signal) => deleteKeyPair(await clients.ec2(), entry.id, signal),
    });
  } finally {
    clients.destroy();
  }
}
