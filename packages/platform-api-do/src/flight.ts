import {
  type BaseCluster,
  BaseFlight,
  CleanupError,
  type ClusterConfig,
  DisposableStack,
  deadline,
  destroyLedgerEntryByKind,
  generateEd25519KeyPair,
  type LedgerEntry,
  type PlatformContext,
  releaseDeadline,
} from '@mantle/cluster';
import type { DoClient } from './api/client.js';
import type { SshKey } from './api/schemas.js';
import { DoCluster } from './cluster.js';
import { createDoClient } from './credentials.js';
import { type DropletWaits, defaultWaits, destroyDroplet } from './droplets.js';
import { type ResolvedImage, resolveImage } from './image-spec.js';
import type { DoOptions } from './options.js';
import { ownerTag, runTag, sshKeyFingerprint, sshKeyName } from './tags.js';

/** Ledger kinds: what `kola cleanup` finds in a run's ledger. */
export const ledgerKinds = { droplet: 'droplet', sshKey: 'ssh-key' } as const;

/** Waits of the machine layer; tests shorten them. */
export interface DoTuning extends DropletWaits {
  /** Pause between droplet-create tries answered 422 or 5xx (mantle: 10 s). */
  createRetryDelayMs: number;
}

export const defaultTuning: DoTuning = { ...defaultWaits, createRetryDelayMs: 10_000 };

/**
 * One per kola run: the resolved image and the flight's SSH key `kola-<run>-t<stamp>` (plus, only
 * if a cluster asks for no key in metadata, mantle's `-fake` key: DigitalOcean mails a root
 * password for a droplet without any key). Both are removed with the flight.
 */
export class DoFlight extends BaseFlight {
  /** Every droplet of this run carries it; GC finds the run's key through it. */
  readonly runTag: string;
  readonly tags: string[];
  key: SshKey | undefined;
  private fakeKey: Promise<SshKey> | undefined;

  private constructor(
    ctx: PlatformContext,
    readonly options: DoOptions,
    readonly client: DoClient,
    readonly image: ResolvedImage,
    readonly tuning: DoTuning,
    private readonly resources: DisposableStack,
  ) {
    super(ctx, 'do');
    this.runTag = runTag(ctx.tags['kola-run'] ?? this.name);
    this.tags = [ownerTag, this.runTag];
  }

  static async create(
    options: DoOptions,
    ctx: PlatformContext,
    tuning: Partial<DoTuning> = {},
  ): Promise<DoFlight> {
    const resources = new DisposableStack();
    const t = { ...defaultTuning, ...tuning };
    try {
      const client = createDoClient(options, ctx.log, { createRetryDelayMs: t.createRetryDelayMs });
      // the token is checked before anything is made
      const account = await client.account(ctx.signal);
      const image = await resolveImage(client, options.image, options.region, ctx.signal);
      const flight = new DoFlight(ctx, options, client, image, t, resources);
      flight.key = await flight.registerKey(ctx.ssh.publicKey, false);
      ctx.log.info('do: flight ready', {
        account: account.uuid,
        image: image.id ?? image.ref,
        region: options.region,
        key: flight.key.name,
      });
      return flight;
    } catch (e) {
      return resources.rollBack(e);
    }
  }

  /** The key a cluster that wants no key in metadata gets (made once, on first use). */
  fakeKeyFor(): Promise<SshKey> {
    this.fakeKey ??= this.registerKey(generateEd25519KeyPair('kola-fake').public.trim(), true);
    return this.fakeKey;
  }

  private async registerKey(publicKey: string, fake: boolean): Promise<SshKey> {
    const name = sshKeyName(this.name, { fake });
    const fingerprint = sshKeyFingerprint(publicKey);
    // the fingerprint is known before the call: a run killed mid-call still lists the key
    const ledgerKey = this.ctx.ledger.created({
      platform: 'do',
      kind: ledgerKinds.sshKey,
      id: fingerprint,
      data: { name },
    });
    this.resources.defer(() => this.deleteKey(name, fingerprint, ledgerKey));
    return this.client.createSshKey(name, publicKey, fingerprint, this.ctx.signal);
  }

  private async deleteKey(name: string, fingerprint: string, ledgerKey: string): Promise<void> {
    const signal = deadline(undefined, 60_000, `deleting SSH key ${name}`);
    try {
      await this.client.deleteSshKey(fingerprint, signal);
    } catch (e) {
      throw new CleanupError(`SSH key ${name} may be left behind`, [e]);
    } finally {
      releaseDeadline(signal);
    }
    this.ctx.ledger.destroyed(ledgerKey);
  }

  override properties(): Record<string, unknown> {
    return {
      image: this.image.id ?? this.image.ref,
      ...(this.image.slug ? { imageSlug: this.image.slug } : {}),
      ...(this.image.name ? { imageName: this.image.name } : {}),
    };
  }

  protected async createCluster(config: ClusterConfig): Promise<BaseCluster> {
    return new DoCluster(this, config);
  }

  protected override destroyFlightResources(): Promise<void> {
    return this.resources.disposeAsync();
  }
}

/**
 * `kola cleanup --run DIR`: destroys a droplet (and waits until it is gone) or deletes an SSH key
 * (by fingerprint) the run's ledger still lists. Already gone is success.
 */
export async function destroyDoLedgerEntry(
  entry: LedgerEntry,
  options: DoOptions,
  ctx: PlatformContext,
): Promise<void> {
  const client = createDoClient(options, ctx.log);
  await destroyLedgerEntryByKind(entry, ctx, 'do', {
    [ledgerKinds.droplet]: (signal) => destroyDroplet(client, Number(entry.id), defaultWaits, signal),
    [ledgerKinds.sshKey]: (signal) => client.deleteSshKey(entry.id, signal),
  });
}
