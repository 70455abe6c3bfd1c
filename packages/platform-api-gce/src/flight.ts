import {
  type BaseCluster,
  BaseFlight,
  type ClusterConfig,
  ConfigError,
  deadline,
  errorMessage,
  type LedgerEntry,
  MantleError,
  type PlatformContext,
  releaseDeadline,
} from '@mantle/cluster';
import { createGceClients, type GceClients } from './api/clients.js';
import { getImage, getImageFromFamily } from './api/images.js';
import { deleteInstance } from './api/instances.js';
import { GceCluster } from './cluster.js';
import { normaliseImage, parseImageUrl } from './image.js';
import type { GceOptions } from './options.js';

/** Waits and bounds of the machine layer; tests shorten them, production keeps the defaults. */
export interface GceTuning {
  /** How long a zone operation (insert, delete) may take (mantle: 10 min). */
  operationTimeoutMs: number;
  /** First interval of instances.get polls while waiting for RUNNING with an address. */
  pollIntervalMs: number;
  runningTimeoutMs: number;
  /** How long to keep asking when an insert is refused for quota (CPUs free up as other tests end). */
  quotaWaitMs: number;
}

export const defaultTuning: GceTuning = {
  operationTimeoutMs: 10 * 60_000,
  pollIntervalMs: 2000,
  runningTimeoutMs: 10 * 60_000,
  quotaWaitMs: 180_000,
};

/** Ledger kinds: what `kola cleanup` finds in a run's ledger. */
export const ledgerKinds = { instance: 'instance' } as const;

/** What `--gce-image` resolved to: properties.json reports the URL. */
export interface ResolvedImage {
  /** The image's selfLink (a family resolved to its newest image). */
  url: string;
  name: string;
  family?: string;
}

/** Resolves `--gce-image` (name, `projects/…`, URL, or a family) to an existing image. */
export async function resolveImage(
  options: GceOptions,
  clients: GceClients,
  signal: AbortSignal,
): Promise<ResolvedImage> {
  if (!options.image?.trim())
    throw new ConfigError('--gce-image is required', {
      hint: 'an image name in the project, projects/<p>/global/images/<name>, or a URL; ore gcloud upload makes one',
    });
  const url = normaliseImage(options.image, clients.project);
  const ref = parseImageUrl(url);
  const image = ref.family
    ? await getImageFromFamily(clients, ref.project, ref.family, { signal })
    : await getImage(clients, ref.project, ref.image!, { signal });
  if (!image?.name)
    throw new ConfigError(
      `--gce-image ${options.image}: no ${ref.family ? `image in family "${ref.family}"` : `image "${ref.image}"`} in project ${ref.project}`,
      { hint: 'ore gcloud list-images shows the images of a project' },
    );
  return {
    url: image.selfLink ?? url.replace(/\/family\/[^/]+$/, `/${image.name}`),
    name: image.name,
    ...(ref.family ? { family: ref.family } : {}),
  };
}

/**
 * One per kola run: the clients, the resolved image. GCE needs no flight-wide resource: SSH keys go
 * in each instance's metadata, and SSH relies on the network's firewall rules, as in mantle.
 */
export class GceFlight extends BaseFlight {
  private constructor(
    ctx: PlatformContext,
    readonly options: GceOptions,
    readonly clients: GceClients,
    readonly image: ResolvedImage,
    readonly tuning: GceTuning,
  ) {
    super(ctx, 'gce');
  }

  static async create(
    options: GceOptions,
    ctx: PlatformContext,
    tuning: Partial<GceTuning> = {},
  ): Promise<GceFlight> {
    const clients = createGceClients(options, { onWarning: (m) => ctx.log.warn(m) });
    try {
      const image = await resolveImage(options, clients, ctx.signal);
      ctx.log.info('gce: flight ready', {
        project: clients.project,
        zone: options.zone,
        image: image.url,
        credentials: clients.credentials.label,
      });
      return new GceFlight(ctx, options, clients, image, {
        ...defaultTuning,
        quotaWaitMs: options.quotaWait * 1000,
        ...tuning,
      });
    } catch (e) {
      await clients.close();
      throw e;
    }
  }

  override properties(): Record<string, unknown> {
    return { project: this.clients.project, image: this.image.url };
  }

  protected async createCluster(config: ClusterConfig): Promise<BaseCluster> {
    return new GceCluster(this, config);
  }

  protected override destroyFlightResources(): Promise<void> {
    return this.clients.close();
  }
}

/** `kola cleanup --run DIR`: deletes an instance the ledger still lists; already gone is success. */
export async function destroyGceLedgerEntry(
  entry: LedgerEntry,
  options: GceOptions,
  ctx: PlatformContext,
): Promise<void> {
  if (entry.kind !== ledgerKinds.instance)
    throw new MantleError(
      'gce.ledger.unknown-kind',
      `ledger entry ${entry.key}: kola does not know how to destroy a gce "${entry.kind}"`,
    );
  const project = typeof entry.data?.project === 'string' ? entry.data.project : options.project;
  const clients = createGceClients(
    { ...options, ...(project ? { project } : {}) },
    { onWarning: (m) => ctx.log.warn(m) },
  );
  const signal = deadline(ctx.signal, 10 * 60_000, `destroying instance ${entry.id}`);
  try {
    await deleteInstance(clients, entry.location ?? options.zone, entry.id, { signal, log: ctx.log });
  } catch (e) {
    ctx.log.debug('gce: ledger entry not destroyed', { key: entry.key, error: errorMessage(e) });
    throw e;
  } finally {
    releaseDeadline(signal);
    await clients.close();
  }
}
