import { randomBytes, randomUUID } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import ssh2 from 'ssh2';
import { z } from 'zod';
import { BaseCluster, type ClusterConfig, type CreateMachineRequest } from '../cluster.js';
import { errorMessage, isMantleError, PlatformApiError } from '../errors.js';
import { BaseFlight, type Flight } from '../flight.js';
import type { LedgerEntry } from '../ledger.js';
import { BaseMachine, type Machine } from '../machine.js';
import { definePlatform, type PlatformContext } from '../platform.js';
import type { RenderedKind, RenderedUserData } from '../userdata/index.js';
import { sleep } from '../wait.js';
import { freePort, generateHostKey, type MockSshServer, startMockSshServer } from './mock-ssh-server.js';

/**
 * The fake cloud: machines are in-process SSH servers on 127.0.0.1 that run commands with /bin/sh in a
 * private temp dir. Every live machine also has a state file `<stateDir>/machines/<id>.json`, so tests
 * can check across processes that nothing was left behind (and `kola cleanup` removes it).
 */

export const fakeOptions = z.object({
  stateDir: z
    .string()
    .min(1)
    .default(join(tmpdir(), 'kola-fake-cloud'))
    .describe('Directory holding one state file per live fake machine')
    .meta({ env: 'KOLA_FAKE_STATE_DIR', valueName: 'DIR' }),
  bootDelayMs: z
    .number()
    .int()
    .min(0)
    .default(0)
    .describe('Delay before a new or rebooted machine answers SSH')
    .meta({ env: 'KOLA_FAKE_BOOT_DELAY_MS', valueName: 'MS' }),
  consoleText: z
    .string()
    .default('')
    .describe('Extra text appended to every console (e.g. "Kernel panic - not syncing: …")')
    .meta({ env: 'KOLA_FAKE_CONSOLE_TEXT', valueName: 'TEXT' }),
  journalText: z
    .string()
    .default('')
    .describe('Extra text appended to every journal')
    .meta({ env: 'KOLA_FAKE_JOURNAL_TEXT', valueName: 'TEXT' }),
  failCreate: z
    .number()
    .int()
    .min(0)
    .default(0)
    .describe('Make the Nth machine creation of the flight fail with an API error (0: never)')
    .meta({ env: 'KOLA_FAKE_FAIL_CREATE', valueName: 'N' }),
  failTerminate: z
    .number()
    .int()
    .min(0)
    .default(0)
    .describe('Make the Nth machine termination of the flight fail with an API error, leaving it (0: never)')
    .meta({ env: 'KOLA_FAKE_FAIL_TERMINATE', valueName: 'N' }),
  terminateDelayMs: z
    .number()
    .int()
    .min(0)
    .default(0)
    .describe('Delay before a machine being destroyed is gone (a slow cloud delete)')
    .meta({ env: 'KOLA_FAKE_TERMINATE_DELAY_MS', valueName: 'MS' }),
  hostKeyChangeOnReboot: z
    .boolean()
    .default(false)
    .describe('Give machines a new SSH host key on every reboot')
    .meta({ env: 'KOLA_FAKE_HOST_KEY_CHANGE_ON_REBOOT' }),
});

export type FakeOptions = z.output<typeof fakeOptions>;

const fakeUserDataVars: Record<string, string> = { $public_ipv4: '127.0.0.1', $private_ipv4: '127.0.0.1' };

/** What `<stateDir>/machines/<id>.json` holds. */
export interface FakeMachineState {
  id: string;
  name: string;
  cluster: string;
  runId: string;
  pid: number;
  port: number;
  /** The machine's private working directory. */
  home: string;
  createdAt: string;
  tags: Record<string, string>;
}

function machinesDir(stateDir: string): string {
  return join(stateDir, 'machines');
}

function stateFileOf(stateDir: string, id: string): string {
  return join(machinesDir(stateDir), `${id}.json`);
}

/** Ids of the fake machines whose state files exist in `stateDir` (live, or leaked by a killed run). */
export function fakeCloudMachines(stateDir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(machinesDir(stateDir));
  } catch {
    return [];
  }
  return names
    .filter((n) => n.endsWith('.json'))
    .map((n) => n.slice(0, -'.json'.length))
    .sort();
}

/** Removes a machine's home only when it looks like one the fake made (a ledger can be edited). */
function removeHome(home: unknown): void {
  if (typeof home === 'string' && basename(home).startsWith('kola-fake-')) {
    rmSync(home, { recursive: true, force: true });
  }
}

const keyPattern =
  /(?:ssh-ed25519|ssh-rsa|ssh-dss|ecdsa-sha2-nistp(?:256|384|521))\s+AAAA[A-Za-z0-9+/]+=*(?:[ \t]+[^\s'"]+)?/g;

/** The SSH keys a machine booted with `userData` would accept for `user`, as its OS would apply them. */
export function authorizedKeysOf(userData: RenderedUserData, user: string): string[] {
  let keys: readonly string[];
  switch (userData.kind) {
    case 'ignition':
      keys = userData.ignition?.passwd?.users?.find((u) => u.name === user)?.sshAuthorizedKeys ?? [];
      break;
    case 'cloud-config':
      keys = userData.cloudConfig?.ssh_authorized_keys ?? [];
      break;
    case 'script':
      keys = userData.toString().match(keyPattern) ?? [];
      break;
  }
  return keys.map((k) => k.trim()).filter((k) => k !== '' && !(ssh2.utils.parseKey(k) instanceof Error));
}

/** In-process machines by id, so `destroyLedgerEntry` in the same process also stops the server. */
const liveMachines = new Map<string, FakeMachine>();

class FakeFlight extends BaseFlight {
  private readonly counts = { creation: 0, termination: 0 };

  constructor(
    ctx: PlatformContext,
    readonly options: FakeOptions,
  ) {
    super(ctx, 'fake');
  }

  /** Counts creations; throws for the one `failCreate` names. */
  countCreation(): void {
    this.count('creation', 'create machine', this.options.failCreate, '--fake-fail-create');
  }

  /** Counts terminations; throws for the one `failTerminate` names. */
  countTermination(): void {
    this.count('termination', 'terminate machine', this.options.failTerminate, '--fake-fail-terminate');
  }

  private count(what: 'creation' | 'termination', operation: string, failAt: number, flag: string): void {
    const n = ++this.counts[what];
    if (failAt > 0 && n === failAt) {
      throw new PlatformApiError(
        { platform: 'fake', operation, status: 500, providerCode: 'InjectedFailure' },
        `${what} #${n} failed as asked (${flag} ${failAt})`,
      );
    }
  }

  protected async createCluster(config: ClusterConfig): Promise<FakeCluster> {
    return new FakeCluster(this, config);
  }
}

class FakeCluster extends BaseCluster {
  constructor(
    private readonly fakeFlight: FakeFlight,
    config: ClusterConfig,
  ) {
    super(fakeFlight, config);
  }

  protected override userDataVars(): Record<string, string> {
    return fakeUserDataVars;
  }

  protected async createMachine(request: CreateMachineRequest): Promise<BaseMachine> {
    request.signal.throwIfAborted();
    this.fakeFlight.countCreation();
    const options = this.fakeFlight.options;
    const ctx = this.ctx;
    const id = `fake-${randomBytes(4).toString('hex')}`;
    const port = await freePort();
    const stateFile = stateFileOf(options.stateDir, id);
    const home = mkdtempSync(join(tmpdir(), `kola-fake-${id}-`));
    let ledgerKey: string | undefined;
    try {
      mkdirSync(machinesDir(options.stateDir), { recursive: true });
      const state: FakeMachineState = {
        id,
        name: request.name,
        cluster: this.name,
        runId: ctx.runId,
        pid: process.pid,
        port,
        home,
        createdAt: new Date().toISOString(),
        tags: { ...ctx.tags, ...(this.config.test ? { 'kola-test': this.config.test } : {}) },
      };
      writeFileSync(stateFile, `${JSON.stringify(state, null, 2)}\n`);
      ledgerKey = ctx.ledger.created({
        platform: 'fake',
        kind: 'machine',
        id,
        data: { stateFile, home },
        cluster: this.name,
        ...(this.config.test ? { test: this.config.test } : {}),
      });
      const machine = new FakeMachine(this, {
        id,
        port,
        home,
        stateFile,
        ledgerKey,
        options,
        flight: this.fakeFlight,
        userDataKind: request.userData.kind,
        keys: authorizedKeysOf(request.userData, ctx.ssh.user),
      });
      liveMachines.set(id, machine);
      try {
        await machine.powerOn();
      } catch (e) {
        await machine.remove();
        throw e;
      }
      return machine;
    } catch (e) {
      rmSync(stateFile, { force: true });
      removeHome(home);
      if (ledgerKey) ctx.ledger.destroyed(ledgerKey);
      throw isMantleError(e)
        ? e
        : new PlatformApiError({ platform: 'fake', operation: 'create machine' }, errorMessage(e), {
            cause: e,
          });
    }
  }
}

interface FakeMachineInit {
  id: string;
  port: number;
  home: string;
  stateFile: string;
  ledgerKey: string;
  options: FakeOptions;
  flight: FakeFlight;
  userDataKind: RenderedKind;
  keys: string[];
}

const bootIdCommand = 'cat /proc/sys/kernel/random/boot_id';

class FakeMachine extends BaseMachine {
  private readonly init: FakeMachineInit;
  private hostKey = generateHostKey();
  private currentBootId = '';
  private server: MockSshServer | undefined;
  private starting: Promise<void> | undefined;
  private bootTimer: NodeJS.Timeout | undefined;
  private readonly consoleLines: string[] = [];
  private readonly journalLines: string[] = [];
  private sshdPid = 1000;
  private uptime = 0;
  private removal: Promise<void> | undefined;

  constructor(cluster: FakeCluster, init: FakeMachineInit) {
    super(cluster, {
      id: init.id,
      ip: '127.0.0.1',
      privateIp: '127.0.0.1',
      sshEndpoint: { host: '127.0.0.1', port: init.port },
      ledgerKey: init.ledgerKey,
    });
    this.init = init;
  }

  get removed(): boolean {
    return this.removal !== undefined;
  }

  /** Boots: a new boot id, boot messages, and SSH answering after `bootDelayMs`. */
  async powerOn(): Promise<void> {
    this.currentBootId = randomUUID();
    this.bootMessages();
    const delay = this.init.options.bootDelayMs;
    if (delay <= 0) {
      await this.startServer();
      return;
    }
    this.bootTimer = setTimeout(() => {
      this.bootTimer = undefined;
      this.startServer().catch((e) =>
        this.log.warn('fake machine SSH server did not start', { error: errorMessage(e) }),
      );
    }, delay);
  }

  private bootMessages(): void {
    const { userDataKind, keys } = this.init;
    const t = (s: number) => `[${(this.uptime + s).toFixed(6).padStart(12)}]`;
    const applied =
      userDataKind === 'ignition'
        ? `ignition[412]: applied Ignition config (${keys.length} SSH key(s) for ${this.cluster.ctx.ssh.user})`
        : userDataKind === 'cloud-config'
          ? `coreos-cloudinit[512]: applied cloud-config (${keys.length} SSH key(s))`
          : 'coreos-cloudinit[512]: ran userdata script';
    this.consoleLines.push(
      `${t(0)} Linux version fake 6.0.0 (kola@fake) #1 SMP PREEMPT_DYNAMIC`,
      `${t(0)} Command line: BOOT_IMAGE=/fake/vmlinuz console=ttyS0 ignition.platform.id=fake`,
      `${t(0.5)} random: boot id ${this.currentBootId}`,
      `${t(1)} userdata: ${userDataKind}`,
      `${t(1.2)} ${applied}`,
      `${t(2)} systemd[1]: Reached target multi-user.target`,
      '',
      'fake login: ',
    );
    this.journalLines.push(
      `-- Boot ${this.currentBootId} --`,
      `${journalTime()} fake kernel: Linux version fake 6.0.0`,
      `${journalTime()} fake systemd[1]: Started sshd.socket - OpenSSH Server Socket.`,
    );
  }

  private startServer(): Promise<void> {
    const start = async () => {
      if (this.removed) return;
      const server = await startMockSshServer({
        authorizedKeys: this.init.keys,
        user: this.cluster.ctx.ssh.user,
        hostKey: this.hostKey,
        cwd: this.init.home,
        port: this.init.port,
        onExec: (command) => {
          this.journalLines.push(`${journalTime()} fake sshd[${++this.sshdPid}]: exec: ${command}`);
        },
        handleExec: (command, channel) => {
          if (command.trim() !== bootIdCommand) return false;
          channel.write(`${this.currentBootId}\n`);
          channel.exit(0);
          channel.end();
          return true;
        },
      });
      if (this.removed) await server.close();
      else this.server = server;
    };
    const starting = start().finally(() => {
      if (this.starting === starting) this.starting = undefined;
    });
    this.starting = starting;
    return starting;
  }

  /** Stops SSH (dropping connections and killing commands); the machine keeps its state. */
  private async powerOff(): Promise<void> {
    if (this.bootTimer) clearTimeout(this.bootTimer);
    this.bootTimer = undefined;
    await this.starting?.catch(() => {});
    const server = this.server;
    this.server = undefined;
    await server?.close();
  }

  protected override async startReboot(): Promise<void> {
    this.consoleLines.push(`[${(this.uptime + 99).toFixed(6).padStart(12)}] reboot: Restarting system`);
    this.uptime = 0;
    await this.powerOff();
    if (this.init.options.hostKeyChangeOnReboot) this.hostKey = generateHostKey();
    await this.powerOn();
  }

  /** Test hook: restart sshd without a reboot, optionally with a new host key. */
  async restartSsh(options: { newHostKey?: boolean } = {}): Promise<void> {
    await this.powerOff();
    if (options.newHostKey) this.hostKey = generateHostKey();
    await this.startServer();
  }

  /** Like a local VM's serial file: the console so far, then what is added, polled. */
  watchConsole(onText: (text: string) => void, signal: AbortSignal): void {
    let sent = 0;
    const poll = async () => {
      if (signal.aborted) return;
      const text = await this.consoleOutput();
      if (text.length > sent) {
        onText(text.slice(sent));
        sent = text.length;
      }
      setTimeout(poll, 200).unref();
    };
    void poll();
  }

  async consoleOutput(): Promise<string> {
    const extra = this.init.options.consoleText;
    return `${[...this.consoleLines, ...(extra ? [extra] : [])].join('\n')}\n`;
  }

  override async journalOutput(): Promise<string> {
    const extra = this.init.options.journalText;
    return `${[...this.journalLines, ...(extra ? [extra] : [])].join('\n')}\n`;
  }

  protected async terminate(signal: AbortSignal): Promise<void> {
    if (this.init.options.terminateDelayMs) await sleep(this.init.options.terminateDelayMs, signal);
    this.init.flight.countTermination();
    await this.remove();
  }

  /** Deletes the machine: SSH stops, its state file and home go. Idempotent. */
  remove(): Promise<void> {
    this.removal ??= (async () => {
      liveMachines.delete(this.id);
      await this.powerOff();
      rmSync(this.init.stateFile, { force: true });
      removeHome(this.init.home);
    })();
    return this.removal;
  }
}

function journalTime(): string {
  const d = new Date();
  const month = d.toLocaleString('en-US', { month: 'short', timeZone: 'UTC' });
  return `${month} ${String(d.getUTCDate()).padStart(2, '0')} ${d.toISOString().slice(11, 26)}`;
}

/**
 * Test hook: restarts a fake machine's SSH server without a reboot (optionally with a new host key), as
 * if someone else now answered at its address.
 */
export async function restartFakeSshServer(
  machine: Machine,
  options: { newHostKey?: boolean } = {},
): Promise<void> {
  if (!(machine instanceof FakeMachine)) throw new TypeError(`${machine.id} is not a fake machine`);
  await machine.restartSsh(options);
}

async function destroyFakeLedgerEntry(entry: LedgerEntry, options: FakeOptions): Promise<void> {
  if (entry.platform !== 'fake' || entry.kind !== 'machine') return;
  await liveMachines.get(entry.id)?.remove();
  const data = entry.data ?? {};
  const stateFile =
    typeof data.stateFile === 'string' ? data.stateFile : stateFileOf(options.stateDir, entry.id);
  let home: unknown = data.home;
  if (home === undefined && existsSync(stateFile)) {
    try {
      home = (JSON.parse(readFileSync(stateFile, 'utf8')) as Partial<FakeMachineState>).home;
    } catch {
      // a torn state file: remove it anyway
    }
  }
  rmSync(stateFile, { force: true });
  removeHome(home);
}

export const fakePlatform = definePlatform({
  name: 'fake',
  description: 'A fake cloud for tests: machines are local SSH servers running /bin/sh',
  options: fakeOptions,
  async createFlight(options, ctx): Promise<Flight> {
    mkdirSync(machinesDir(options.stateDir), { recursive: true });
    return new FakeFlight(ctx, options);
  },
  properties(options) {
    return { stateDir: options.stateDir, bootDelayMs: options.bootDelayMs };
  },
  destroyLedgerEntry(entry, options) {
    return destroyFakeLedgerEntry(entry, options);
  },
});
