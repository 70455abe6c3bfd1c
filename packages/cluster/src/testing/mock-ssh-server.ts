import { type ChildProcess, spawn } from 'node:child_process';
import { timingSafeEqual } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import { constants as osConstants, tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { fingerprint, generateEd25519KeyPair } from '../ssh.js';

const { Server, utils } = ssh2;
type SshServer = InstanceType<typeof Server>;
type ParsedKey = ssh2.ParsedKey;

/** What a test gets back from `startMockSshServer()`. */
export interface MockSshServer {
  /** A loopback address (127.0.0.1 unless the options named another). */
  host: string;
  port: number;
  /** `SHA256:…` of the host key, as HostKeyStore records it. */
  hostKeyFingerprint: string;
  /** Stops listening, destroys open connections and kills running commands. Idempotent. */
  close(): Promise<void>;
}

export interface MockSshServerOptions {
  /** OpenSSH public key lines; only these may log in (publickey auth only). */
  authorizedKeys: string[];
  /** The only user accepted; any user when unset. */
  user?: string;
  /** Host private key (OpenSSH or PEM); a fresh ed25519 key when unset. */
  hostKey?: string;
  /** Working directory of every command. */
  cwd: string;
  /** Extra environment of every command. */
  env?: Record<string, string>;
  /** 0 or unset: a free port. A fixed port lets a test restart the server on it (a "reboot"). */
  port?: number;
  /** The loopback address to listen on (default 127.0.0.1); anything outside 127.0.0.0/8 is refused. */
  host?: string;
  /** Called with every command before it runs. */
  onExec?: (command: string) => void;
  /** Called with the method of every authentication request ("none", "publickey", …). */
  onAuthentication?: (method: string, signed: boolean) => void;
  /** Handles special commands itself (write to the channel, exit, end); returns true when it did. */
  handleExec?: (command: string, channel: ssh2.ServerChannel) => boolean;
}

/** A new ed25519 host private key in OpenSSH format. */
export function generateHostKey(): string {
  return generateEd25519KeyPair().private;
}

function parseOne(text: string, what: string): ParsedKey {
  const parsed = utils.parseKey(text);
  if (parsed instanceof Error) throw new Error(`${what}: ${parsed.message}`);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key) throw new Error(`${what}: no key`);
  return key;
}

const sudoShim = `#!/bin/sh
# mock sudo: run the command as the current user, skipping sudo's own flags
while [ $# -gt 0 ]; do
  case "$1" in
    --) shift; break ;;
    -u|-g|-C|-h|-p|-r|-t|-U|-D) shift 2 ;;
    -*) shift ;;
    *) break ;;
  esac
done
[ $# -eq 0 ] && exit 0
exec "$@"
`;

function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

/**
 * An in-process SSH server on 127.0.0.1 that runs each exec request with `/bin/sh -c` in `cwd`.
 * Used by ssh.ts tests and by the fake platform, whose machines are these servers.
 */
export async function startMockSshServer(options: MockSshServerOptions): Promise<MockSshServer> {
  const allowed = options.authorizedKeys.map((line, i) => parseOne(line.trim(), `authorizedKeys[${i}]`));
  const hostKey = options.hostKey ?? generateHostKey();
  const host = options.host ?? '127.0.0.1';
  if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host))
    throw new Error(`mock SSH server: ${host} is not a loopback address (127.0.0.0/8)`);
  const hostFingerprint = fingerprint(parseOne(hostKey, 'hostKey').getPublicSSH());
  const binDir = mkdtempSync(join(tmpdir(), 'kola-mock-ssh-bin-'));
  writeFileSync(join(binDir, 'sudo'), sudoShim);
  chmodSync(join(binDir, 'sudo'), 0o755);

  const children = new Set<ChildProcess>();
  const sockets = new Set<Socket>();
  let closed = false;

  const sshServer: SshServer = new Server({ hostKeys: [hostKey] }, (client) => {
    const mine = new Set<ChildProcess>();
    const killAll = () => {
      for (const child of mine) killGroup(child, 'SIGKILL');
    };
    client.on('error', () => {
      // a client going away mid-handshake or a destroyed socket: nothing to do
    });
    client.on('close', killAll);
    client.on('end', killAll);

    client.on('authentication', (ctx) => {
      options.onAuthentication?.(ctx.method, ctx.method === 'publickey' && ctx.signature !== undefined);
      if (ctx.method !== 'publickey' || (options.user !== undefined && ctx.username !== options.user)) {
        return ctx.reject(['publickey']);
      }
      const key = allowed.find((k) => sameBytes(k.getPublicSSH(), ctx.key.data));
      if (!key) return ctx.reject(['publickey']);
      if (ctx.signature && ctx.blob) {
        if (key.verify(ctx.blob, ctx.signature, ctx.hashAlgo) !== true) return ctx.reject(['publickey']);
      }
      ctx.accept();
    });

    client.on('session', (acceptSession) => {
      const session = acceptSession();
      const sessionEnv: Record<string, string> = {};
      let child: ChildProcess | undefined;
      session.on('env', (accept, _reject, info) => {
        sessionEnv[info.key] = info.val;
        accept?.();
      });
      session.on('pty', (_accept, reject) => reject?.());
      session.on('shell', (_accept, reject) => reject?.());
      // ssh2's server ignores every request on a session after the client's EOF (its stdin closed),
      // signal requests included; OpenSSH takes them until the channel closes. Keep a session that
      // runs a command open to requests.
      session.on('eof', () => {
        if (child) (session as unknown as { _ending: boolean })._ending = false;
      });
      session.on('signal', (accept, reject, info) => {
        const name = `SIG${info.name.toUpperCase().replace(/^SIG/, '')}`;
        if (!child || !(name in osConstants.signals)) return reject?.();
        accept?.();
        killGroup(child, name as NodeJS.Signals);
      });
      session.on('exec', (accept, reject, info) => {
        const command = info.command;
        options.onExec?.(command);
        const channel = accept();
        if (!channel) return reject?.();
        if (options.handleExec?.(command, channel)) return;
        const proc = spawn('/bin/sh', ['-c', command], {
          cwd: options.cwd,
          env: {
            HOME: options.cwd,
            USER: options.user ?? 'core',
            LOGNAME: options.user ?? 'core',
            LANG: 'C',
            SHELL: '/bin/sh',
            ...options.env,
            ...sessionEnv,
            PATH: `${binDir}:${options.env?.PATH ?? process.env.PATH ?? '/usr/bin:/bin'}`,
          },
          detached: true,
          stdio: ['pipe', 'pipe', 'pipe'],
        });
        child = proc;
        mine.add(proc);
        children.add(proc);
        proc.stdin.on('error', () => {
          // the command did not read its stdin
        });
        channel.on('error', () => {});
        channel.pipe(proc.stdin);
        proc.stdout.on('data', (chunk: Buffer) => channel.write(chunk));
        proc.stderr.on('data', (chunk: Buffer) => channel.stderr.write(chunk));
        channel.on('close', () => killGroup(proc, 'SIGKILL'));
        proc.on('error', (e) => {
          mine.delete(proc);
          children.delete(proc);
          try {
            channel.stderr.write(`sh: ${e.message}\n`);
            channel.exit(127);
            channel.end();
          } catch {
            // channel already gone
          }
        });
        proc.on('close', (code, signal) => {
          mine.delete(proc);
          children.delete(proc);
          try {
            if (signal) channel.exit(signal, false, '');
            else channel.exit(code ?? 0);
          } catch {
            // the client closed the channel first, or a signal SSH has no name for
          }
          try {
            channel.end();
          } catch {
            // already closed
          }
        });
      });
    });
  });
  sshServer.on('error', () => {});

  const netServer: NetServer = createServer((socket) => {
    if (closed) {
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    sshServer.injectSocket(socket);
  });

  const cleanupBin = () => rmSync(binDir, { recursive: true, force: true });
  try {
    await new Promise<void>((resolve, reject) => {
      netServer.once('error', reject);
      netServer.listen({ host, port: options.port ?? 0, exclusive: true }, () => {
        netServer.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    cleanupBin();
    throw e;
  }
  const address = netServer.address();
  if (address === null || typeof address === 'string') throw new Error('mock SSH server has no TCP address');

  let closing: Promise<void> | undefined;
  return {
    host,
    port: address.port,
    hostKeyFingerprint: hostFingerprint,
    close() {
      closing ??= new Promise<void>((resolve) => {
        closed = true;
        for (const child of children) killGroup(child, 'SIGKILL');
        for (const socket of sockets) socket.destroy();
        netServer.close(() => {
          cleanupBin();
          resolve();
        });
      });
      return closing;
    },
  };
}

/** A free TCP port on 127.0.0.1 right now (for a server that starts later on a fixed port). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      const address = server.address();
      const port = address && typeof address === 'object' ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
