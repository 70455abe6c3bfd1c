import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { BaseCluster, Cluster, ClusterConfig } from './cluster.js';
import { destroyTogether, once } from './disposable.js';
import type { PlatformContext } from './platform.js';
import { throwIfAborted } from './wait.js';

/** One per kola process: owns the SSH key registration and any network shared by its clusters. */
export interface Flight extends AsyncDisposable {
  name: string;
  platform: string;
  clusters: readonly Cluster[];
  /**
   * What the flight resolved from its options (the AMI id behind a name, the image path, the kernel
   * version, the accelerator): merged over `platform.properties(options)` in properties.json.
   */
  properties(): Record<string, unknown>;
  newCluster(config?: Partial<ClusterConfig>, options?: { signal?: AbortSignal }): Promise<Cluster>;
  destroy(): Promise<void>;
}

export abstract class BaseFlight implements Flight {
  readonly name: string;
  private readonly live = new Set<BaseCluster>();

  constructor(
    readonly ctx: PlatformContext,
    readonly platform: string,
  ) {
    this.name = ctx.runId || `${ctx.basename}-${randomBytes(4).toString('hex')}`;
  }

  get clusters(): readonly Cluster[] {
    return [...this.live];
  }

  protected abstract createCluster(config: ClusterConfig): Promise<BaseCluster>;

  /** Nothing resolved beyond the options, unless the platform says otherwise. */
  properties(): Record<string, unknown> {
    return {};
  }

  /** Deletes what the flight made (key pairs, networks). Must succeed when already gone. */
  protected async destroyFlightResources(): Promise<void> {}

  async newCluster(
    config: Partial<ClusterConfig> = {},
    options: { signal?: AbortSignal } = {},
  ): Promise<Cluster> {
    const signal = options.signal ?? config.signal;
    const full: ClusterConfig = {
      outputDir: config.outputDir ?? join(this.ctx.outputDir, 'clusters'),
      ...config,
      ...(signal ? { signal } : {}),
    };
    throwIfAborted(signal ?? this.ctx.signal);
    const cluster = await this.createCluster(full);
    this.live.add(cluster);
    return cluster;
  }

  /** Called by BaseCluster.destroy(). */
  forget(cluster: BaseCluster): void {
    this.live.delete(cluster);
  }

  readonly destroy = once(() =>
    destroyTogether(`destroying flight ${this.name}`, this.live, () => this.destroyFlightResources()),
  );

  [Symbol.asyncDispose](): Promise<void> {
    return this.destroy();
  }
}
