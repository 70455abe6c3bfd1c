import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { BaseCluster } from './cluster.js';
import { once } from './disposable.js';
import { CleanupError, errorMessage } from './errors.js';
import type { Logger } from './log.js';
import { type ExecOptions, type SshEndpoint, type SshResult, SshSession, sshCommandLine } from './ssh.js';
import { deadline, releaseDeadline, waitFor } from './wait.js';

export interface MachineSshOptions extends ExecOptions {
  /** Limit for (re)connecting before the command runs; default: the flight's SSH timeout. */
  connectTimeoutMs?: number;
}

export interface Machine extends AsyncDisposable {
  id: string;
  /** Address reachable from the host running kola. */
  ip: string;
  /** Address reachable from the cluster's other machines. */
  privateIp: string;
  /** `<test dir>/<machine id>`: user-data, console.txt, journal.txt live here. */
  outputDir: string;
  ssh(command: string, options?: MachineSshOptions): Promise<SshResult>;
  reboot(options?: { signal?: AbortSignal }): Promise<void>;
  consoleOutput(): Promise<string>;
  journalOutput(): Promise<string>;
  /** A command line an operator can paste to log in. */
  sshCommand(): string;
  /** Saves console.txt and journal.txt (and journal-raw.txt.gz) into outputDir now. */
  collectLogs(): Promise<void>;
  /**
   * Follows the console as it is written, where the platform can do that cheaply (local VMs), so
   * console checks can fail a test early. Calls `onText` with each new chunk until `signal` aborts.
   */
  watchConsole?(onText: (text: string) => void, signal: AbortSignal): void;
  /** Idempotent; saves console and journal BEFORE deleting. */
  destroy(): Promise<void>;
}

export interface MachineInit {
  id: string;
  ip: string;
  privateIp: string;
  /** Where SSH answers (defaults to ip:22). */
  sshEndpoint?: SshEndpoint;
  /** Ledger key of the machine's main resource, marked destroyed after terminate(). */
  ledgerKey?: string;
}

/** How long log collection and termination may take during destroy, independent of the run's signal. */
export const destroyTimeoutMs = 120_000;

/**
 * Bookkeeping every machine shares: SSH with host-key pinning and reconnects, reboot by boot id,
 * log collection before deletion, idempotent destroy, the ledger. A platform implements
 * `consoleOutput()` and `terminate()`, and overrides the rest where its cloud differs.
 */
export abstract class BaseMachine implements Machine {
  readonly id: string;
  ip: string;
  privateIp: string;
  readonly outputDir: string;
  protected sshEndpoint: SshEndpoint;
  protected readonly log: Logger;
  protected readonly session: SshSession;
  private readonly ledgerKey: string | undefined;

  constructor(
    protected readonly cluster: BaseCluster,
    init: MachineInit,
  ) {
    this.id = init.id;
    this.ip = init.ip;
    this.privateIp = init.privateIp;
    this.sshEndpoint = init.sshEndpoint ?? { host: init.ip, port: 22 };
    this.ledgerKey = init.ledgerKey;
    this.outputDir = join(cluster.outputDir, init.id);
    mkdirSync(this.outputDir, { recursive: true });
    this.log = cluster.log.child({ machine: this.id });
    const ctx = cluster.ctx;
    this.session = new SshSession(() => this.sshEndpoint, {
      identity: ctx.ssh,
      timeoutMs: ctx.sshTimeoutMs,
      hostKeys: ctx.hostKeys,
      machine: this.id,
      log: this.log,
      signal: ctx.signal,
      ...(ctx.dialer ? { dialer: ctx.dialer } : {}),
    });
  }

  /** True when the platform writes console.txt itself as the machine runs (nothing to save). */
  protected readonly consoleIsLiveFile: boolean = false;

  /** Fetches the serial console; '' where the platform has none. */
  abstract consoleOutput(): Promise<string>;

  /** Deletes the machine in the platform; must succeed when it is already gone. */
  protected abstract terminate(signal: AbortSignal): Promise<void>;

  ssh(command: string, options: MachineSshOptions = {}): Promise<SshResult> {
    this.log.debug('ssh', { command });
    const exec: MachineSshOptions = {
      ...options,
      signal: options.signal ?? this.cluster.signal,
    };
    return this.session.exec(command, exec);
  }

  /** Waits until SSH answers (with an authenticated session), up to the flight's SSH timeout. */
  async waitReady(signal?: AbortSignal): Promise<void> {
    await this.session.connect(signal ?? this.cluster.signal, this.cluster.ctx.sshTimeoutMs);
  }

  protected async bootId(signal?: AbortSignal): Promise<string> {
    const r = await this.ssh('cat /proc/sys/kernel/random/boot_id', signal ? { signal } : {});
    return r.stdout.trim();
  }

  /** Asks the OS to reboot; the connection dropping is expected. */
  protected async startReboot(signal?: AbortSignal): Promise<void> {
    await this.ssh('sudo systemctl reboot || sudo reboot', {
      check: false,
      timeoutMs: 15_000,
      ...(signal ? { signal } : {}),
    }).catch((e) =>
      this.log.debug('reboot command ended without an answer (expected)', { error: errorMessage(e) }),
    );
  }

  /** Reboots and waits for SSH to come back with a new boot id. */
  async reboot(options: { signal?: AbortSignal } = {}): Promise<void> {
    const signal = options.signal ?? this.cluster.signal;
    const before = await this.bootId(signal);
    this.cluster.ctx.hostKeys.allowChange(this.id);
    this.log.info('rebooting', { bootId: before });
    await this.startReboot(signal);
    this.session.reset();
    const after = await waitFor(
      async (attempt) => {
        try {
          const id = await this.bootId(attempt);
          if (id === before) this.session.reset(); // still the old boot: drop and try again
          return id !== before && id ? id : undefined;
        } catch (e) {
          this.session.reset();
          throw e;
        }
      },
      {
        phase: `for machine ${this.id} to come back after reboot`,
        timeoutMs: this.cluster.ctx.sshTimeoutMs,
        intervalMs: 1000,
        signal,
      },
    );
    this.log.info('rebooted', { bootId: after });
  }

  /** The journal as text; collected over SSH where journalctl exists, else the kernel log. */
  async journalOutput(): Promise<string> {
    if (!this.session.everConnected) return '';
    const r = await this.ssh(
      'if command -v journalctl >/dev/null 2>&1; then journalctl --no-pager --quiet -o short-precise -b all 2>/dev/null || journalctl --no-pager -o short-precise; else echo "-- no journald: kernel log (dmesg) --"; dmesg 2>/dev/null || cat /proc/kmsg; fi',
      // a machine that never answered should not hold up destroy for the whole SSH timeout
      { check: false, timeoutMs: 60_000, connectTimeoutMs: 15_000, signal: AbortSignal.timeout(90_000) },
    );
    return r.stdout;
  }

  /** The journal in export format (gzipped into journal-raw.txt.gz); undefined where there is none. */
  protected async journalExport(): Promise<Buffer | undefined> {
    return undefined;
  }

  sshCommand(): string {
    return sshCommandLine(this.cluster.ctx.ssh, this.sshEndpoint);
  }

  /** Saves console.txt, journal.txt (and journal-raw.txt.gz) into the machine's directory. */
  async collectLogs(): Promise<void> {
    const [consoleText, journal, raw] = await Promise.allSettled([
      this.consoleOutput(),
      this.journalOutput(),
      this.journalExport(),
    ]);
    if (consoleText.status === 'fulfilled') {
      if (!this.consoleIsLiveFile) writeFileSync(join(this.outputDir, 'console.txt'), consoleText.value);
    } else this.log.warn('could not collect console', { error: errorMessage(consoleText.reason) });
    if (journal.status === 'fulfilled') writeFileSync(join(this.outputDir, 'journal.txt'), journal.value);
    else this.log.warn('could not collect journal', { error: errorMessage(journal.reason) });
    if (raw.status === 'fulfilled' && raw.value)
      writeFileSync(join(this.outputDir, 'journal-raw.txt.gz'), gzipSync(raw.value, { level: 9 }));
  }

  readonly destroy = once(async () => {
    const signal = deadline(undefined, destroyTimeoutMs, `destroying machine ${this.id}`);
    try {
      await this.collectLogs();
    } catch (e) {
      this.log.warn('could not save logs', { error: errorMessage(e) });
    }
    this.session.close();
    try {
      await this.terminate(signal);
    } catch (e) {
      // still in the ledger, so `kola cleanup --run` can retry it
      throw new CleanupError(`machine ${this.id} may be left behind`, [e]);
    } finally {
      releaseDeadline(signal);
    }
    if (this.ledgerKey) this.cluster.ctx.ledger.destroyed(this.ledgerKey);
    this.cluster.forget(this);
    this.log.info('destroyed');
  });

  [Symbol.asyncDispose](): Promise<void> {
    return this.destroy();
  }
}
