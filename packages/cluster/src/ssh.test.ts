import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  AbortedError,
  ConfigError,
  HostKeyMismatchError,
  SshCommandError,
  SshConnectError,
  TimeoutError,
} from './errors.js';
import {
  connectSsh,
  execSsh,
  generateEd25519KeyPair,
  generateSshIdentity,
  HostKeyStore,
  readPublicKeyFiles,
  type SshIdentity,
  SshSession,
  sshCommandLine,
  writeSshPrivateKey,
} from './ssh.js';
import {
  freePort,
  type MockSshServer,
  type MockSshServerOptions,
  startMockSshServer,
} from './testing/mock-ssh-server.js';
import { sleep } from './wait.js';

const { utils } = ssh2;

type Client = Awaited<ReturnType<typeof connectSsh>>;

/** Alive and not a zombie (a killed grandchild may linger as one where PID 1 does not reap). */
function processAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

async function waitGone(pid: number, ms = 3000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (!processAlive(pid)) return true;
    await sleep(50);
  }
  return !processAlive(pid);
}

describe('ssh against the mock server', () => {
  let dir: string;
  let identity: SshIdentity;
  const servers: MockSshServer[] = [];
  const clients: Client[] = [];

  const serve = async (o: Partial<MockSshServerOptions> = {}) => {
    const server = await startMockSshServer({
      authorizedKeys: identity.authorizedKeys,
      user: 'core',
      cwd: dir,
      ...o,
    });
    servers.push(server);
    return server;
  };
  const connect = async (server: { port: number }, o: Partial<Parameters<typeof connectSsh>[1]> = {}) => {
    const client = await connectSsh(
      { host: '127.0.0.1', port: server.port },
      { identity, timeoutMs: 4000, ...o },
    );
    clients.push(client);
    return client;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kola-ssh-test-'));
    identity = generateSshIdentity();
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.end();
    await Promise.all(servers.splice(0).map((s) => s.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('retries connecting until a server starts listening later on a fixed port', async () => {
    const port = await freePort();
    const started = Date.now();
    const later = sleep(700).then(() => serve({ port }));
    const client = await connect({ port });
    expect(Date.now() - started).toBeGreaterThanOrEqual(600);
    await later;
    expect((await execSsh(client, 'echo up')).stdout).toBe('up\n');
  });

  it('authenticates with its key straight away, without first asking with method "none"', async () => {
    const requests: string[] = [];
    const server = await serve({
      onAuthentication: (method, signed) => requests.push(`${method}${signed ? ' signed' : ''}`),
    });
    await connect(server);
    expect(requests).toEqual(['publickey', 'publickey signed']);
  });

  it('runs commands in cwd with env, returning stdout, stderr and the exit code', async () => {
    const server = await serve({ env: { GREETING: 'hi' } });
    const client = await connect(server);
    const r = await execSsh(client, 'echo "$GREETING"; pwd; echo err >&2; exit 0');
    expect(r).toEqual({ stdout: `hi\n${dir}\n`, stderr: 'err\n', exitCode: 0 });
    const failed = await execSsh(client, 'echo bad >&2; exit 7', { check: false });
    expect(failed.exitCode).toBe(7);
    const err = await execSsh(client, 'echo bad >&2; exit 7').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SshCommandError);
    expect((err as SshCommandError).exitStatus).toBe(7);
    expect((err as SshCommandError).stderrTail).toBe('bad');
    expect((err as SshCommandError).message).toContain('exit 7');
  });

  it('reports a command killed by a signal', async () => {
    const client = await connect(await serve());
    const r = await execSsh(client, 'kill -TERM $$', { check: false });
    expect(r.exitCode).toBeNull();
    expect(r.signal).toBe('SIGTERM');
    await expect(execSsh(client, 'kill -TERM $$')).rejects.toThrow(/killed by SIGTERM/);
  });

  it('streams output to callbacks while the command runs', async () => {
    const client = await connect(await serve());
    const out: string[] = [];
    const err: string[] = [];
    let first!: () => void;
    const gotFirst = new Promise<void>((resolve) => {
      first = resolve;
    });
    const running = execSsh(client, 'echo one; echo e1 >&2; sleep 0.6; echo two', {
      onStdout: (c) => {
        out.push(c.toString());
        first();
      },
      onStderr: (c) => err.push(c.toString()),
    });
    const winner = await Promise.race([gotFirst.then(() => 'chunk'), running.then(() => 'done')]);
    expect(winner).toBe('chunk');
    const r = await running;
    expect(out.join('')).toBe('one\ntwo\n');
    expect(err.join('')).toBe('e1\n');
    expect(r.stdout).toBe('one\ntwo\n');
  });

  it('passes stdin to the command', async () => {
    const client = await connect(await serve());
    expect((await execSsh(client, 'cat', { stdin: 'line 1\nline 2\n' })).stdout).toBe('line 1\nline 2\n');
    expect((await execSsh(client, 'wc -c', { stdin: Buffer.alloc(100_000, 97) })).stdout.trim()).toBe(
      '100000',
    );
    expect((await execSsh(client, 'cat')).stdout).toBe('');
  });

  it('abort kills the remote command', async () => {
    const client = await connect(await serve());
    const controller = new AbortController();
    let pid = 0;
    const running = execSsh(client, 'echo $$; exec sleep 30', {
      signal: controller.signal,
      onStdout: (c) => {
        pid = Number(c.toString().trim());
        controller.abort();
      },
    });
    await expect(running).rejects.toBeInstanceOf(AbortedError);
    expect(pid).toBeGreaterThan(0);
    expect(await waitGone(pid)).toBe(true);
  });

  it('the server honours signal requests (to the whole process group)', async () => {
    const client = await connect(await serve());
    const result = await new Promise<{ stdout: string; code: number | null }>((resolve, reject) => {
      client.exec(
        "trap 'echo trapped; exit 5' TERM; echo ready; while :; do sleep 0.05; done",
        (err, stream) => {
          if (err) return reject(err);
          let stdout = '';
          let code: number | null = null;
          let sent = false;
          stream.on('data', (c: Buffer) => {
            stdout += c.toString();
            if (!sent && stdout.includes('ready')) {
              sent = true;
              stream.signal('TERM');
            }
          });
          stream.on('exit', (c: number | null) => {
            code = c;
          });
          stream.on('close', () => resolve({ stdout, code }));
        },
      );
    });
    expect(result).toEqual({ stdout: 'ready\ntrapped\n', code: 5 });
  }, 5000);

  it('timeoutMs fails with a TimeoutError naming the command and kills it', async () => {
    const client = await connect(await serve());
    let pid = 0;
    const started = Date.now();
    const err = await execSsh(client, 'echo $$; exec sleep 5', {
      timeoutMs: 400,
      onStdout: (c) => {
        pid = Number(c.toString().trim());
      },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as TimeoutError).message).toContain('sleep 5');
    expect(Date.now() - started).toBeLessThan(2000);
    expect(await waitGone(pid)).toBe(true);
  });

  it('a wrong key fails with SshConnectError at the deadline', async () => {
    const server = await serve();
    const other = generateSshIdentity();
    const started = Date.now();
    const err = await connectSsh(
      { host: '127.0.0.1', port: server.port },
      { identity: other, timeoutMs: 1200 },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SshConnectError);
    expect((err as Error).message).toMatch(/timed out after 1\.2s connecting over SSH/);
    expect((err as Error).message).toMatch(/authentication/i);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('rejects a user other than the configured one', async () => {
    const server = await serve({ user: 'core' });
    await expect(
      connectSsh({ host: '127.0.0.1', port: server.port }, { identity, user: 'root', timeoutMs: 800 }),
    ).rejects.toBeInstanceOf(SshConnectError);
    await expect(connect(server, { user: 'core' })).resolves.toBeDefined();
  });

  it('an abort ends connection retries with AbortedError', async () => {
    const port = await freePort();
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    await expect(
      connectSsh({ host: '127.0.0.1', port }, { identity, timeoutMs: 4000, signal: controller.signal }),
    ).rejects.toBeInstanceOf(AbortedError);
  });

  it('pins host keys: a changed key fails at once unless a change was allowed', async () => {
    const hostKeys = new HostKeyStore();
    const port = await freePort();
    let server = await serve({ port });
    await connect(server, { hostKeys, machine: 'm1' });
    expect(hostKeys.get('m1')).toBe(server.hostKeyFingerprint);
    await server.close();
    server = await serve({ port });
    const started = Date.now();
    await expect(connect(server, { hostKeys, machine: 'm1' })).rejects.toBeInstanceOf(HostKeyMismatchError);
    expect(Date.now() - started).toBeLessThan(2000);
    hostKeys.allowChange('m1');
    await connect(server, { hostKeys, machine: 'm1' });
    expect(hostKeys.get('m1')).toBe(server.hostKeyFingerprint);
  });

  it('provides sudo, onExec and handleExec', async () => {
    const seen: string[] = [];
    const server = await serve({
      onExec: (c) => seen.push(c),
      handleExec: (command, channel) => {
        if (command !== 'special') return false;
        channel.write('handled\n');
        channel.exit(0);
        channel.end();
        return true;
      },
    });
    const client = await connect(server);
    expect((await execSsh(client, 'sudo -n -E echo as-root')).stdout).toBe('as-root\n');
    expect((await execSsh(client, 'special')).stdout).toBe('handled\n');
    expect(seen).toEqual(['sudo -n -E echo as-root', 'special']);
  });

  it('closing the server kills running commands and drops connections', async () => {
    const server = await serve();
    const client = await connect(server);
    let pid = 0;
    const running = execSsh(client, 'echo $$; exec sleep 30', {
      check: false,
      onStdout: (c) => {
        pid = Number(c.toString().trim());
      },
    });
    while (!pid) await sleep(20);
    await server.close();
    await server.close(); // idempotent
    await running.catch(() => {});
    expect(await waitGone(pid)).toBe(true);
  });

  it('SshSession reuses one connection and reconnects after the server restarts', async () => {
    const port = await freePort();
    let server = await serve({ port });
    const hostKeys = new HostKeyStore();
    const session = new SshSession(() => ({ host: '127.0.0.1', port }), {
      identity,
      timeoutMs: 4000,
      hostKeys,
      machine: 'm',
    });
    try {
      const a = await session.connect();
      expect(await session.connect()).toBe(a);
      expect((await session.exec('echo 1')).stdout).toBe('1\n');
      await server.close();
      hostKeys.allowChange('m');
      server = await serve({ port });
      expect((await session.exec('echo 2')).stdout).toBe('2\n');
    } finally {
      session.close();
    }
  });
});

describe('ssh keys', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kola-keys-test-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('generates an identity and writes the private key 0600', () => {
    const id = generateSshIdentity({ user: 'core', extraPublicKeys: ['ssh-ed25519 AAAAextra'] });
    expect(id.publicKey).toMatch(/^ssh-ed25519 AAAA/);
    expect(id.authorizedKeys).toEqual([id.publicKey, 'ssh-ed25519 AAAAextra']);
    const written = writeSshPrivateKey(id, join(dir, 'keys', 'id_ed25519'));
    expect(written.privateKeyPath).toBe(join(dir, 'keys', 'id_ed25519'));
    expect(statSync(join(dir, 'keys', 'id_ed25519')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dir, 'keys', 'id_ed25519.pub'), 'utf8')).toBe(`${id.publicKey}\n`);
    expect(sshCommandLine(written, { host: '10.0.0.1', port: 2222 })).toBe(
      `ssh -i ${written.privateKeyPath} -p 2222 -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null core@10.0.0.1`,
    );
    expect(sshCommandLine(id, { host: 'fe80::1', port: 22 }, 'root')).toContain('root@[fe80::1]');
  });

  it('generates only key pairs ssh2 can parse back (ssh2 keygen drops leading zero bytes)', () => {
    for (let i = 0; i < 1000; i++) {
      const pair = generateEd25519KeyPair();
      expect(utils.parseKey(pair.public)).not.toBeInstanceOf(Error);
      expect(utils.parseKey(pair.private)).not.toBeInstanceOf(Error);
    }
  });

  it('reads public key files, skipping comments and blank lines', () => {
    const a = generateSshIdentity().publicKey;
    const b = generateSshIdentity().publicKey;
    writeFileSync(join(dir, 'keys.pub'), `# team keys\n${a}\n\n  ${b}  \n`);
    expect(readPublicKeyFiles([join(dir, 'keys.pub')])).toEqual([a, b]);
  });

  it('names the file (and line) of bad key files', () => {
    expect(() => readPublicKeyFiles([join(dir, 'missing.pub')])).toThrow(ConfigError);
    expect(() => readPublicKeyFiles([join(dir, 'missing.pub')])).toThrow(/--key .*missing\.pub/);
    writeFileSync(join(dir, 'bad.pub'), `${generateSshIdentity().publicKey}\nnot a key\n`);
    expect(() => readPublicKeyFiles([join(dir, 'bad.pub')])).toThrow(/bad\.pub:2: not an OpenSSH public key/);
    writeFileSync(join(dir, 'id'), generateSshIdentity().privateKey);
    expect(() => readPublicKeyFiles([join(dir, 'id')])).toThrow(ConfigError);
  });
});

describe('connection resets before the handshake', () => {
  it('keeps retrying servers that accept and drop TCP (user-mode NAT before the guest is up) until the deadline', async () => {
    const { createServer } = await import('node:net');
    // accepts TCP and closes it again, like slirp's hostfwd while the guest still boots
    let n = 0;
    const dropper = createServer((socket) => {
      n++;
      if (n % 3 === 0) socket.resetAndDestroy();
      else if (n % 3 === 1) socket.end();
      else setTimeout(() => socket.destroy(), 30);
    });
    await new Promise<void>((resolve) => dropper.listen(0, '127.0.0.1', resolve));
    const port = (dropper.address() as { port: number }).port;
    const identity = generateSshIdentity();
    const started = Date.now();
    const error = await connectSsh({ host: '127.0.0.1', port }, { identity, timeoutMs: 5000 }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SshConnectError);
    // names why the attempts failed, not only that time ran out (even when the deadline cut one short)
    expect((error as Error).message).toMatch(/timed out after .*: .*(ECONNRESET|[Cc]onnection|closed)/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(4500);
    // a reset and a close before the greeting both mean "up, not listening yet": asked again every
    // 250 ms, about 20 times in 5 s (backing off to 1 s would make 7)
    expect(n).toBeGreaterThanOrEqual(15);
    dropper.close();
  });

  /**
   * A TCP proxy in front of an SSH server. `hold(n)` says whether connection n (from 1) is held
   * silent, as QEMU's user-mode NAT holds one whose SYN has not reached the guest; the others are
   * passed on, the server's first bytes after `greetDelayMs`.
   */
  async function proxy(target: number, hold: (n: number) => boolean, greetDelayMs = 0) {
    const { createServer, connect } = await import('node:net');
    const events: string[] = [];
    let n = 0;
    const server = createServer((downstream) => {
      const id = ++n;
      downstream.on('error', () => {});
      downstream.on('close', () => events.push(`${id} closed`));
      if (hold(id)) return events.push(`${id} held`);
      events.push(`${id} passed`);
      const upstream = connect(target, '127.0.0.1');
      upstream.on('error', () => downstream.destroy());
      let first = true;
      upstream.on('data', (chunk) => {
        if (!first) return downstream.write(chunk);
        first = false;
        upstream.pause();
        setTimeout(() => {
          downstream.write(chunk);
          upstream.resume();
        }, greetDelayMs);
      });
      downstream.on('data', (chunk) => upstream.write(chunk));
      upstream.on('close', () => downstream.destroy());
      downstream.on('close', () => upstream.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { port: (server.address() as { port: number }).port, events, close: () => server.close() };
  }

  it('does not wait on a connection held silent: another one started alongside gets through', async () => {
    const identity = generateSshIdentity();
    const server = await startMockSshServer({ authorizedKeys: identity.authorizedKeys, cwd: tmpdir() });
    const nat = await proxy(server.port, (n) => n === 1);
    try {
      const started = Date.now();
      const client = await connectSsh(
        { host: '127.0.0.1', port: nat.port },
        { identity, timeoutMs: 20_000, attemptTimeoutMs: 10_000, hedgeAfterMs: 300 },
      );
      // within the held connection's 10 s, not after it
      expect(Date.now() - started).toBeLessThan(5000);
      expect((await execSsh(client, 'echo up')).stdout).toBe('up\n');
      client.end();
      await sleep(100);
      // the held one was given up as soon as the other was greeted
      expect(nat.events.slice(0, 3)).toEqual(['1 held', '2 passed', '1 closed']);
    } finally {
      nat.close();
      await server.close();
    }
  });

  it('a server slow to greet gets extra connections, closed before any key exchange', async () => {
    const identity = generateSshIdentity();
    const auth: string[] = [];
    const server = await startMockSshServer({
      authorizedKeys: identity.authorizedKeys,
      cwd: tmpdir(),
      onAuthentication: (method) => auth.push(method),
    });
    const slow = await proxy(server.port, () => false, 800);
    try {
      const client = await connectSsh(
        { host: '127.0.0.1', port: slow.port },
        { identity, timeoutMs: 20_000, hedgeAfterMs: 300 },
      );
      expect((await execSsh(client, 'echo up')).stdout).toBe('up\n');
      client.end();
      await sleep(100);
      const passed = slow.events.filter((e) => e.endsWith('passed')).length;
      expect(passed).toBeGreaterThanOrEqual(2); // hedged at 0.3 and 0.6 s while the first waited 0.8 s
      expect(passed).toBeLessThanOrEqual(4);
      expect(slow.events.filter((e) => e.endsWith('closed')).length).toBe(passed);
      expect(auth).toEqual(['publickey', 'publickey']); // one connection authenticated, the rest never got that far
    } finally {
      slow.close();
      await server.close();
    }
  });

  it('names why the attempts failed when connections keep being started until the deadline', async () => {
    const identity = generateSshIdentity();
    // every dial gives up after 300 ms while a new one starts every 100 ms: never all failed at once
    const dialer = () =>
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error('connect to 10.0.0.9:22 timed out')), 300),
      );
    const error = await connectSsh(
      { host: '10.0.0.9', port: 22 },
      { identity, dialer, timeoutMs: 1000, hedgeAfterMs: 100 },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SshConnectError);
    expect((error as Error).message).toMatch(/timed out after .*: connect to 10\.0\.0\.9:22 timed out/);
  });

  it('asks again after 250 ms while the port refuses, and backs off on other failures', async () => {
    const identity = generateSshIdentity();
    const attempts = async (code: string) => {
      let n = 0;
      const dialer = async () => {
        n++;
        throw Object.assign(new Error(`connect ${code}`), { code });
      };
      await connectSsh({ host: '127.0.0.1', port: 1 }, { identity, dialer, timeoutMs: 2000 }).catch(() => {});
      return n;
    };
    // refused: attempts every 250 ms, 8 or 9 in 2 s; backing off (0, .25, .75, 1.75 s) would make 4
    expect(await attempts('ECONNREFUSED')).toBeGreaterThanOrEqual(7);
    expect(await attempts('EHOSTUNREACH')).toBeLessThanOrEqual(5);
  });
});
