import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { connect as netConnect } from 'node:net';
import { dirname } from 'node:path';
import type { Duplex } from 'node:stream';
import type ssh2 from 'ssh2';
import {
  abortReason,
  ConfigError,
  errorMessage,
  HostKeyMismatchError,
  SshCommandError,
  SshConnectError,
} from './errors.js';
import type { Logger } from './log.js';
import { deadline, releaseDeadline, sleep } from './wait.js';

// ssh2 is loaded when first used: most ore verbs never open SSH, and loading it costs ~35 ms of
// every start-up.
let ssh2Module: typeof ssh2 | undefined;
const ssh2Lib = (): typeof ssh2 => (ssh2Module ??= createRequire(import.meta.url)('ssh2') as typeof ssh2);
type SshClient = ssh2.Client;

/** Where to reach a machine's SSH server. */
export interface SshEndpoint {
  host: string;
  port: number;
}

/**
 * Opens the byte stream SSH runs over. The default dials TCP; tests (and platforms behind bastions)
 * route connections elsewhere without any test-only code in the platform.
 */
export type Dialer = (endpoint: SshEndpoint, signal: AbortSignal) => Promise<Duplex>;

/** The flight's SSH identity: one generated key pair plus the operator's extra public keys. */
export interface SshIdentity {
  user: string;
  privateKey: string;
  publicKey: string;
  /** Every key to authorize on machines: the flight key first, then `--key` keys. */
  authorizedKeys: string[];
  /** Where the private key was written (for `ssh -i` hints), when it was. */
  privateKeyPath?: string;
}

/**
 * A new ed25519 key pair in OpenSSH format. ssh2 1.17's keygen strips leading zero bytes of the public
 * key, so about 1 pair in 256 cannot be parsed back (mscdex/ssh2#1390, #1513): such pairs are dropped.
 */
export function generateEd25519KeyPair(comment?: string): { private: string; public: string } {
  for (let attempt = 0; ; attempt++) {
    const pair = ssh2Lib().utils.generateKeyPairSync('ed25519', comment === undefined ? {} : { comment });
    if (
      !(ssh2Lib().utils.parseKey(pair.private) instanceof Error) &&
      !(ssh2Lib().utils.parseKey(pair.public) instanceof Error)
    )
      return pair;
    if (attempt >= 20) throw new Error('could not generate a usable ed25519 key pair');
  }
}

export function generateSshIdentity(
  options: { user?: string; comment?: string; extraPublicKeys?: string[] } = {},
): SshIdentity {
  const pair = generateEd25519KeyPair(options.comment ?? 'kola');
  const publicKey = pair.public.trim();
  return {
    user: options.user ?? 'core',
    privateKey: pair.private,
    publicKey,
    authorizedKeys: [publicKey, ...(options.extraPublicKeys ?? [])],
  };
}

/** Writes the private key (0600) so operators can `ssh -i` into kept machines. */
export function writeSshPrivateKey(identity: SshIdentity, path: string): SshIdentity {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, identity.privateKey, { mode: 0o600 });
  chmodSync(path, 0o600);
  writeFileSync(`${path}.pub`, `${identity.publicKey}\n`, { mode: 0o644 });
  return { ...identity, privateKeyPath: path };
}

/** Reads `--key` public key files: each non-comment line must be an OpenSSH public key. */
export function readPublicKeyFiles(paths: string[]): string[] {
  const keys: string[] = [];
  for (const path of paths) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      throw new ConfigError(`--key ${path}: ${errorMessage(e)}`);
    }
    text.split('\n').forEach((line, i) => {
      const trimmed = line.trim();
      if (!trimmed || trimmed.startsWith('#')) return;
      const parsed = ssh2Lib().utils.parseKey(trimmed);
      if (parsed instanceof Error) throw new ConfigError(`--key ${path}:${i + 1}: not an OpenSSH public key`);
      const key = Array.isArray(parsed) ? parsed[0] : parsed;
      if (key?.isPrivateKey()) throw new ConfigError(`--key ${path}: is a private key; pass the .pub file`);
      keys.push(trimmed);
    });
  }
  return keys;
}

export function fingerprint(hostKey: Buffer): string {
  return `SHA256:${createHash('sha256').update(hostKey).digest('base64').replace(/=+$/, '')}`;
}

/**
 * Trust-on-first-use host keys per machine. The first key seen is recorded; a different key later is
 * an error unless `allowChange` was called first (a reboot kola made, which may regenerate keys).
 */
export class HostKeyStore {
  private readonly known = new Map<string, string>();
  private readonly changeAllowed = new Set<string>();

  get(machine: string): string | undefined {
    return this.known.get(machine);
  }

  allowChange(machine: string): void {
    this.changeAllowed.add(machine);
  }

  /** Returns undefined when the key is acceptable, else the error. */
  check(machine: string, hostKey: Buffer): HostKeyMismatchError | undefined {
    const seen = fingerprint(hostKey);
    const known = this.known.get(machine);
    if (known === undefined || known === seen || this.changeAllowed.has(machine)) {
      this.known.set(machine, seen);
      this.changeAllowed.delete(machine);
      return undefined;
    }
    return new HostKeyMismatchError(
      `host key of machine ${machine} changed from ${known} to ${seen} without a reboot by kola`,
      { hint: 'someone else may be answering at that address' },
    );
  }
}

export const defaultDialer: Dialer = (endpoint, signal) =>
  new Promise((resolve, reject) => {
    const socket = netConnect({ host: endpoint.host, port: endpoint.port });
    const timer = setTimeout(
      () => fail(new Error(`connect to ${endpoint.host}:${endpoint.port} timed out`)),
      5000,
    );
    const fail = (e: Error) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      reject(e);
    };
    const onAbort = () => fail(abortReason(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => {
      socket.setNoDelay(true); // commands are small request/response exchanges: no Nagle delays
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      socket.off('error', fail);
      resolve(socket);
    });
    socket.once('error', fail);
  });

export interface ConnectOptions {
  identity: SshIdentity;
  /** Overrides identity.user. */
  user?: string;
  dialer?: Dialer;
  signal?: AbortSignal;
  /** Retry until this deadline (mantle retried a fixed 7 times). */
  timeoutMs?: number;
  /** Per-attempt limit, for the server's greeting and again for the handshake. */
  attemptTimeoutMs?: number;
  /** While no server has greeted for this long, another connection is started alongside (default 1 s). */
  hedgeAfterMs?: number;
  hostKeys?: HostKeyStore;
  /** Name the host key is recorded under (the machine id). */
  machine?: string;
  log?: Logger;
}

/**
 * Connects and authenticates, retrying with backoff until the deadline. Readiness is a completed SSH
 * handshake (a banner alone is not enough: user-mode NAT accepts TCP at once). A host key mismatch or
 * an abort ends the retries at once.
 *
 * Retries stay at most a second apart, and a refused or reset attempt is repeated after 250 ms: it
 * costs nothing, and a longer pause is time the machine sits ready while nobody asks. An attempt a
 * NAT holds silent is kept, and fresh connections are started alongside it (`dialUntilGreeted`).
 */
export async function connectSsh(endpoint: SshEndpoint, options: ConnectOptions): Promise<SshClient> {
  const timeoutMs = options.timeoutMs ?? 120_000;
  const phase = `connecting over SSH to ${options.machine ?? `${endpoint.host}:${endpoint.port}`}`;
  const signal = deadline(options.signal, timeoutMs, phase);
  try {
    return await connectWithRetries(endpoint, options, signal, phase, timeoutMs);
  } finally {
    releaseDeadline(signal);
  }
}

async function connectWithRetries(
  endpoint: SshEndpoint,
  options: ConnectOptions,
  signal: AbortSignal,
  phase: string,
  timeoutMs: number,
): Promise<SshClient> {
  const dialer = options.dialer ?? defaultDialer;
  let backoff = minRetryDelayMs;
  let lastError: unknown;
  for (let attempt = 1; ; attempt++) {
    if (signal.aborted) throw connectFailure(signal, phase, timeoutMs, lastError, options.signal);
    let refused = false;
    try {
      return await connectOnce(endpoint, dialer, options, signal);
    } catch (e) {
      if (e instanceof HostKeyMismatchError) throw e;
      // an attempt cut short by the deadline says less than why the attempts before it failed
      if (!signal.aborted || lastError === undefined) lastError = e;
      options.log?.debug(`ssh attempt ${attempt} failed`, {
        endpoint: `${endpoint.host}:${endpoint.port}`,
        error: errorMessage(e),
      });
      // Refused or reset: the machine is up and its SSH server is about to listen (usually within
      // a second), so ask again soon instead of backing off.
      refused = isRefusal(e);
    }
    try {
      await sleep(refused ? minRetryDelayMs : backoff, signal);
    } catch {
      throw connectFailure(signal, phase, timeoutMs, lastError, options.signal);
    }
    if (!refused) backoff = Math.min(backoff * 2, maxRetryDelayMs);
  }
}

const minRetryDelayMs = 250;
const maxRetryDelayMs = 1000;

function isRefusal(e: unknown): boolean {
  const code = (e as { code?: unknown } | undefined)?.code;
  return code === 'ECONNREFUSED' || code === 'ECONNRESET';
}

function connectFailure(
  signal: AbortSignal,
  phase: string,
  timeoutMs: number,
  lastError: unknown,
  parent?: AbortSignal,
): Error {
  if (parent?.aborted) return abortReason(parent);
  const reason = abortReason(signal, phase, timeoutMs);
  if (reason.code === 'timeout') {
    return new SshConnectError(`${reason.message}${lastError ? `: ${errorMessage(lastError)}` : ''}`, {
      cause: lastError,
    });
  }
  return reason;
}

async function connectOnce(
  endpoint: SshEndpoint,
  dialer: Dialer,
  options: ConnectOptions,
  signal: AbortSignal,
): Promise<SshClient> {
  const attemptTimeoutMs = options.attemptTimeoutMs ?? 15_000;
  const sock = await dialUntilGreeted(endpoint, dialer, signal, {
    hedgeAfterMs: options.hedgeAfterMs ?? 1000,
    silentLimitMs: attemptTimeoutMs,
  });
  return new Promise<SshClient>((resolve, reject) => {
    const client = new (ssh2Lib().Client)();
    let hostKeyError: HostKeyMismatchError | undefined;
    let settled = false;
    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      clearTimeout(timer);
      if (err) {
        client.end();
        sock.destroy();
        reject(err);
      } else {
        resolve(client);
      }
    };
    const onAbort = () => finish(abortReason(signal));
    const timer = setTimeout(() => finish(new Error('SSH handshake timed out')), attemptTimeoutMs);
    signal.addEventListener('abort', onAbort, { once: true });
    client.once('ready', () => finish());
    // `on`, not `once`: ssh2 may emit a second error after the first (e.g. "Connection lost before
    // handshake" after a reset), and an unhandled 'error' event would crash kola
    client.on('error', (e) => finish(hostKeyError ?? e));
    client.once('close', () => finish(hostKeyError ?? new Error('connection closed during SSH handshake')));
    client.connect({
      sock,
      username: options.user ?? options.identity.user,
      privateKey: options.identity.privateKey,
      // The key is the only method kola has. ssh2 would first ask with method "none" for the list of
      // methods: one more round trip to a server that may be slow to answer (under TCG).
      authHandler: ['publickey'],
      readyTimeout: attemptTimeoutMs,
      keepaliveInterval: 15_000,
      keepaliveCountMax: 4,
      hostVerifier: (key: Buffer) => {
        if (!options.hostKeys || !options.machine) return true;
        hostKeyError = options.hostKeys.check(options.machine, key);
        return hostKeyError === undefined;
      },
    });
  });
}

/**
 * Dials until a server speaks first, as SSH servers do, and resolves with that stream, its first bytes
 * put back for ssh2 to read. QEMU's user-mode NAT accepts every connection at once and holds it while
 * its SYN to the guest goes unanswered (the guest has no address yet), trying again only seconds
 * later, while a fresh connection reaches the guest at once. So while nothing has been heard, another
 * connection is started every `hedgeAfterMs` alongside the others, and the first one greeted wins.
 * The rest are closed before any key exchange: a server that is only slow to greet pays a forked child
 * per second of delay, not handshakes. A reset, a refusal or a close before the greeting means the
 * machine is up and not listening yet: every attempt is dropped and the caller asks again shortly.
 */
function dialUntilGreeted(
  endpoint: SshEndpoint,
  dialer: Dialer,
  signal: AbortSignal,
  limits: { hedgeAfterMs: number; silentLimitMs: number },
): Promise<Duplex> {
  return new Promise<Duplex>((resolve, reject) => {
    const open = new Map<Duplex, () => void>(); // attempt -> detaches its listeners
    const stopDials = new AbortController(); // dials still in flight once it is decided
    const dialSignal = AbortSignal.any([signal, stopDials.signal]);
    let dialing = 0;
    let settled = false;
    let hedgeTimer: NodeJS.Timeout | undefined;
    const settle = (winner: Duplex | undefined, error?: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(hedgeTimer);
      signal.removeEventListener('abort', onAbort);
      stopDials.abort();
      for (const [sock, detach] of open) {
        detach();
        if (sock !== winner) sock.destroy();
      }
      open.clear();
      if (winner) resolve(winner);
      else reject(error);
    };
    let lastFailure: unknown; // what the deadline's error names: why the attempts got nowhere
    const onAbort = () => settle(undefined, lastFailure ?? abortReason(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    const failed = (sock: Duplex | undefined, error: unknown) => {
      lastFailure = error;
      if (sock) {
        open.get(sock)?.();
        open.delete(sock);
        sock.destroy();
      }
      if (isRefusal(error) || (open.size === 0 && dialing === 0)) settle(undefined, error);
    };
    const watch = (sock: Duplex) => {
      const silent = setTimeout(
        () => failed(sock, new Error(`no SSH greeting within ${limits.silentLimitMs / 1000} s`)),
        limits.silentLimitMs,
      );
      const onData = (chunk: Buffer) => {
        sock.pause();
        sock.unshift(chunk);
        settle(sock);
      };
      const onError = (e: Error) => failed(sock, e);
      // the user-mode NAT passes a guest's reset on as a close
      const onClosed = () =>
        failed(
          sock,
          Object.assign(new Error('connection closed before the SSH server greeted'), { code: 'ECONNRESET' }),
        );
      sock.on('data', onData).on('error', onError).on('end', onClosed).on('close', onClosed);
      open.set(sock, () => {
        clearTimeout(silent);
        sock.off('data', onData).off('error', onError).off('end', onClosed).off('close', onClosed);
      });
    };
    const start = () => {
      dialing++;
      dialer(endpoint, dialSignal).then(
        (sock) => {
          dialing--;
          if (settled) sock.destroy();
          else watch(sock);
        },
        (e: unknown) => {
          dialing--;
          if (!settled) failed(undefined, e);
        },
      );
      hedgeTimer = setTimeout(start, limits.hedgeAfterMs);
    };
    start();
  });
}

export interface SshResult {
  stdout: string;
  stderr: string;
  /** null when the command was killed by a signal. */
  exitCode: number | null;
  signal?: string;
}

export interface ExecOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Throw SshCommandError on a non-zero exit (default true). */
  check?: boolean;
  stdin?: string | Buffer;
  onStdout?: (chunk: Buffer) => void;
  onStderr?: (chunk: Buffer) => void;
}

/**
 * Sends a `signal` channel request. ssh2's `Channel.signal()` silently does nothing once the stream was
 * ended, and execSsh always ends it (stdin EOF), so the request goes through the protocol directly
 * (ssh2 is pinned; the fallback keeps working should the internals move).
 */
function sendSignal(stream: ssh2.ClientChannel, name: string): void {
  const internals = stream as unknown as {
    outgoing?: { id: number; state: string };
    _client?: { _protocol?: { signal(channel: number, signal: string): void } };
  };
  const protocol = internals._client?._protocol;
  const state = internals.outgoing?.state;
  // after EOF (our stdin closed) the channel still takes requests; SSH only forbids more data
  if ((state === 'open' || state === 'eof') && protocol && typeof protocol.signal === 'function') {
    protocol.signal(internals.outgoing!.id, name);
  } else {
    stream.signal(name);
  }
}

/** Errors of commands that never started (safe to retry on a new connection). */
const notStarted = new WeakSet<Error>();

/** Runs one command on an open connection, streaming its output; abort closes the channel. */
export function execSsh(client: SshClient, command: string, options: ExecOptions = {}): Promise<SshResult> {
  if (!options.timeoutMs) return execOnce(client, command, options, options.signal);
  const signal = deadline(options.signal, options.timeoutMs, `running ${JSON.stringify(command)}`);
  return execOnce(client, command, options, signal).finally(() => releaseDeadline(signal));
}

function execOnce(
  client: SshClient,
  command: string,
  options: ExecOptions,
  signal: AbortSignal | undefined,
): Promise<SshResult> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortReason(signal));
    client.exec(command, (err, stream) => {
      if (err) {
        const e = new SshConnectError(`could not start ${JSON.stringify(command)}: ${err.message}`, {
          cause: err,
        });
        notStarted.add(e);
        return reject(e);
      }
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      let exitCode: number | null = null;
      let exitSignal: string | undefined;
      const onAbort = () => {
        try {
          sendSignal(stream, 'KILL');
        } catch {
          // the server may not support signals; closing the channel is all we can do
        }
        stream.close();
        reject(abortReason(signal!, `running ${JSON.stringify(command)}`, options.timeoutMs));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      stream.on('data', (chunk: Buffer) => {
        stdout.push(chunk);
        options.onStdout?.(chunk);
      });
      stream.stderr.on('data', (chunk: Buffer) => {
        stderr.push(chunk);
        options.onStderr?.(chunk);
      });
      stream.on('exit', (code: number | null, sig?: string) => {
        exitCode = code ?? null;
        if (sig) exitSignal = sig;
      });
      stream.on('close', () => {
        signal?.removeEventListener('abort', onAbort);
        if (signal?.aborted) return;
        const result: SshResult = {
          stdout: Buffer.concat(stdout).toString('utf8'),
          stderr: Buffer.concat(stderr).toString('utf8'),
          exitCode,
        };
        if (exitSignal) result.signal = exitSignal;
        if (exitCode === null && !exitSignal) {
          // no exit status at all: the connection went away (reboot, crash, network), not the command
          reject(new SshConnectError(`connection closed before ${JSON.stringify(command)} finished`));
          return;
        }
        if ((options.check ?? true) && exitCode !== 0) {
          reject(new SshCommandError(command, exitCode, result.stderr, exitSignal));
        } else {
          resolve(result);
        }
      });
      if (options.stdin !== undefined) stream.end(options.stdin);
      else stream.end();
    });
  });
}

/**
 * A reusable connection to one machine: connects lazily, reconnects after the server went away (a
 * reboot), and closes on dispose. mantle opened a connection per command; reuse keeps per-command
 * overhead to one channel open.
 */
export class SshSession implements AsyncDisposable {
  private client: Promise<SshClient> | undefined;
  /** Whether a connection ever succeeded: a machine that never answered has no logs to fetch. */
  everConnected = false;

  constructor(
    private readonly endpoint: () => SshEndpoint,
    private readonly options: ConnectOptions,
  ) {}

  async exec(command: string, options: ExecOptions & { connectTimeoutMs?: number } = {}): Promise<SshResult> {
    const connecting = this.connect(options.signal, options.connectTimeoutMs);
    const client = await connecting;
    try {
      return await execSsh(client, command, options);
    } catch (e) {
      // The cached connection died before the command started (sshd restarted, a reboot not yet
      // noticed): the command never ran, so run it once more on a fresh connection.
      if (!(e instanceof Error) || !notStarted.has(e)) throw e;
      if (this.client === connecting) this.client = undefined;
      client.end();
      const fresh = await this.connect(options.signal, options.connectTimeoutMs);
      return execSsh(fresh, command, options);
    }
  }

  /** Returns the open client, connecting first when needed. */
  connect(signal?: AbortSignal, timeoutMs?: number): Promise<SshClient> {
    if (!this.client) {
      const connecting = connectSsh(this.endpoint(), {
        ...this.options,
        signal: signal ?? this.options.signal,
        timeoutMs: timeoutMs ?? this.options.timeoutMs,
      });
      this.client = connecting;
      connecting.then(
        (c) => {
          this.everConnected = true;
          const drop = () => {
            if (this.client === connecting) this.client = undefined;
          };
          c.once('close', drop);
          c.on('error', drop); // `on`: a second error event must not go unhandled
        },
        () => {
          if (this.client === connecting) this.client = undefined;
        },
      );
    }
    return this.client;
  }

  /** Forgets the connection (after a reboot) so the next command reconnects. */
  reset(): void {
    const current = this.client;
    this.client = undefined;
    current?.then((c) => c.end()).catch(() => {});
  }

  close(): void {
    this.reset();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }
}

/** An `ssh` command line an operator can paste to reach a machine. */
export function sshCommandLine(identity: SshIdentity, endpoint: SshEndpoint, user?: string): string {
  const key = identity.privateKeyPath ? `-i ${identity.privateKeyPath} ` : '';
  const port = endpoint.port === 22 ? '' : `-p ${endpoint.port} `;
  const host = endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host;
  return `ssh ${key}${port}-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null ${user ?? identity.user}@${host}`;
}
