import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { destroyTogether, once, rejections } from './disposable.js';
import { cleanupErrorsOf, rootFailure, withCleanupErrors } from './errors.js';
import type { BaseFlight } from './flight.js';
import type { Logger } from './log.js';
import type { BaseMachine, Machine } from './machine.js';
import type { PlatformContext } from './platform.js';
import { type RenderedUserData, renderUserData, UserData } from './userdata/index.js';
import { throwIfAborted } from './wait.js';

export interface ClusterConfig {
  /** The test's output directory; machines save their logs under it. */
  outputDir: string;
  /** The test this cluster belongs to (tags, logs). */
  test?: string;
  /** Don't put the SSH keys into userdata (mantle's NoSSHKeyInUserData). */
  noSshKeyInUserData?: boolean;
  /** Don't register SSH keys in platform metadata (mantle's NoSSHKeyInMetadata). */
  noSshKeyInMetadata?: boolean;
  /** Aborts this cluster's work (the test's signal). */
  signal?: AbortSignal;
  /** Called as soon as a machine exists, before it answers SSH (e.g. to follow its console). */
  onMachineCreated?: (machine: Machine) => void;
}

export interface MachineOptions {
  signal?: AbortSignal;
  /** Hostname to set through userdata. */
  hostname?: string;
}

export interface Cluster extends AsyncDisposable {
  name: string;
  outputDir: string;
  machines: readonly Machine[];
  newMachine(userData?: UserData, options?: MachineOptions): Promise<Machine>;
  /** Creates n machines in parallel; on the first failure destroys all of them and throws. */
  newMachines(n: number, userData?: UserData, options?: MachineOptions): Promise<Machine[]>;
  destroy(): Promise<void>;
}

/** What BaseCluster asks a platform to create. */
export interface CreateMachineRequest {
  /** A unique name for the machine (`<cluster>-<n>`). */
  name: string;
  /** Rendered userdata with keys injected; the platform may add to it, then calls toString(). */
  userData: RenderedUserData;
  signal: AbortSignal;
  options: MachineOptions;
}

/**
 * Bookkeeping every cluster shares: userdata rendering and key injection, the machine set, parallel
 * creation that is all-or-nothing, waiting for SSH, idempotent destroy. A platform implements
 * `createMachine()` (and `destroyClusterResources()` when it made shared resources).
 */
export abstract class BaseCluster implements Cluster {
  readonly name: string;
  readonly outputDir: string;
  readonly log: Logger;
  private readonly live = new Set<BaseMachine>();
  private machineCount = 0;

  constructor(
    protected readonly flight: BaseFlight,
    readonly config: ClusterConfig,
  ) {
    this.name = `${flight.ctx.basename}-${randomBytes(4).toString('hex')}`;
    this.outputDir = config.outputDir;
    mkdirSync(this.outputDir, { recursive: true });
    this.log = flight.ctx.log.child({ cluster: this.name, ...(config.test ? { test: config.test } : {}) });
  }

  get ctx(): PlatformContext {
    return this.flight.ctx;
  }

  /** The signal machine work runs under: the test's, else the run's. */
  get signal(): AbortSignal {
    return this.config.signal ?? this.flight.ctx.signal;
  }

  get machines(): readonly Machine[] {
    return [...this.live];
  }

  protected abstract createMachine(request: CreateMachineRequest): Promise<BaseMachine>;

  /** Deletes what the cluster made besides its machines. */
  protected async destroyClusterResources(): Promise<void> {}

  /**
   * Userdata substitutions of the platform, as mantle's ignition vars: `$public_ipv4` and
   * `$private_ipv4` mapped to what the platform's metadata agent provides. Platforms override this.
   */
  protected userDataVars(_machineName: string): Record<string, string> {
    return {};
  }

  async newMachine(userData: UserData = UserData.empty(), options: MachineOptions = {}): Promise<Machine> {
    const signal = options.signal ?? this.signal;
    throwIfAborted(signal);
    const name = `${this.name}-${++this.machineCount}`;
    const rendered = renderUserData(userData, {
      sshKeys: this.ctx.ssh.authorizedKeys,
      injectKeys: !this.config.noSshKeyInUserData,
      user: this.ctx.ssh.user,
      vars: this.userDataVars(name),
      ...(options.hostname ? { hostname: options.hostname } : {}),
    });
    const machine = await this.createMachine({ name, userData: rendered, signal, options });
    this.live.add(machine);
    this.log.info('machine created', { machine: machine.id, ip: machine.ip });
    this.config.onMachineCreated?.(machine);
    try {
      writeFileSync(join(machine.outputDir, 'user-data'), rendered.toString());
      await machine.waitReady(signal);
    } catch (e) {
      const destroyed = await Promise.allSettled([machine.destroy()]);
      throw withCleanupErrors(e, rejections(destroyed));
    }
    return machine;
  }

  async newMachines(n: number, userData?: UserData, options: MachineOptions = {}): Promise<Machine[]> {
    const controller = new AbortController();
    const signal = AbortSignal.any([options.signal ?? this.signal, controller.signal]);
    let firstFailure: { reason: unknown } | undefined;
    const results = await Promise.allSettled(
      Array.from({ length: n }, async () => {
        try {
          return await this.newMachine(userData, { ...options, signal });
        } catch (e) {
          firstFailure ??= { reason: e };
          controller.abort(e); // stop the siblings early: the cluster is failing anyway
          throw e;
        }
      }),
    );
    const made = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    if (!firstFailure) return made;
    const destroyed = await Promise.allSettled(made.map((m) => m.destroy()));
    // what every machine's own rollback could not destroy counts as much as the made machines' destroys
    // (a sibling stopped by the first failure may carry that failure's cleanup errors too: a Set)
    const cleanupErrors = new Set([
      ...rejections(results).flatMap(cleanupErrorsOf),
      ...rejections(destroyed),
    ]);
    throw withCleanupErrors(rootFailure(firstFailure.reason), [...cleanupErrors]);
  }

  /** Called by BaseMachine.destroy(). */
  forget(machine: BaseMachine): void {
    this.live.delete(machine);
  }

  readonly destroy = once(async () => {
    try {
      await destroyTogether(`destroying cluster ${this.name}`, this.live, () =>
        this.destroyClusterResources(),
      );
    } finally {
      this.flight.forget(this);
    }
  });

  [Symbol.asyncDispose](): Promise<void> {
    return this.destroy();
  }
}
