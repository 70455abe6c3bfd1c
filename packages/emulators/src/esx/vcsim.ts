import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/**
 * vcsim (govmomi's vSphere simulator, built from Debian's packages by scripts/setup-vcsim.sh) on a
 * free loopback port with a certificate of its own: clients verify TLS against `caFile` (or pass
 * insecure). Stopped by `stop()`/`await using`, and by closing its stdin when the test process dies.
 */
export interface Vcsim {
  /** `https://127.0.0.1:<port>/sdk` */
  url: string;
  /** `127.0.0.1:<port>`, what `--esx-server` takes. */
  server: string;
  /** PEM of the server's self-signed certificate. */
  caFile: string;
  caPem: string;
  username: string;
  password: string;
  /** The environment govc would read (GOVC_URL without credentials, GOVC_USERNAME, GOVC_PASSWORD). */
  govcEnv(): Record<string, string>;
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export interface VcsimSettings {
  username?: string;
  password?: string;
  /** Inventory counts, as vcsim's flags: -dc, -ds, -pg, -cluster, -host, -standalone-host, -pool, -vm, -folder. */
  inventory?: Partial<
    Record<'dc' | 'ds' | 'pg' | 'cluster' | 'host' | 'standalone-host' | 'pool' | 'vm' | 'folder', number>
  >;
  /** Power on the VMs the model creates (vcsim's default). */
  autostart?: boolean;
  /** A standalone ESXi (`-esx`) instead of a vCenter. */
  esx?: boolean;
  signal?: AbortSignal;
}

const setupScript = fileURLToPath(new URL('../../../../scripts/setup-vcsim.sh', import.meta.url));

let binary: Promise<string> | undefined;

/** The vcsim binary: built once per machine (cached by hash), then a lookup of a few milliseconds. */
export function vcsimBinary(): Promise<string> {
  binary ??= new Promise((resolve, reject) => {
    execFile('bash', [setupScript], { maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`scripts/setup-vcsim.sh failed: ${stderr.trim() || err.message}`));
      else resolve(stdout.trim().split('\n').at(-1) ?? '');
    });
  });
  return binary;
}

export async function startVcsim(settings: VcsimSettings = {}): Promise<Vcsim> {
  const bin = await vcsimBinary();
  const dir = await mkdtemp(join(tmpdir(), 'kola-vcsim-'));
  const caFile = join(dir, 'cert.pem');
  const username = settings.username ?? 'kola';
  const password = settings.password ?? 's3cret';
  const args = ['-l', '127.0.0.1:0', '-cert-out', caFile, '-username', username, '-password', password];
  if (settings.esx) args.push('-esx');
  if (settings.autostart === false) args.push('-autostart=false');
  for (const [flag, n] of Object.entries(settings.inventory ?? {})) args.push(`-${flag}`, String(n));

  const child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const stop = async (): Promise<void> => {
    await stopChild(child);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const url = await firstLine(child, settings.signal, () => stderr);
    const caPem = await readFile(caFile, 'utf8');
    const server = new URL(url).host;
    return {
      url,
      server,
      caFile,
      caPem,
      username,
      password,
      govcEnv: () => ({ GOVC_URL: url, GOVC_USERNAME: username, GOVC_PASSWORD: password }),
      stop,
      [Symbol.asyncDispose]: stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

function firstLine(
  child: ChildProcess,
  signal: AbortSignal | undefined,
  stderr: () => string,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    const timer = setTimeout(() => fail(new Error('vcsim did not start within 30 s')), 30_000);
    const onAbort = () => fail(signal?.reason ?? new Error('aborted'));
    signal?.addEventListener('abort', onAbort, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      lines.removeAllListeners('line');
      child.removeListener('exit', onExit);
    }
    function fail(err: unknown): void {
      done();
      reject(err);
    }
    function onExit(code: number | null): void {
      fail(new Error(`vcsim exited (${code}) before listening: ${stderr().trim()}`));
    }
    child.once('exit', onExit);
    lines.once('line', (line) => {
      done();
      try {
        resolve((JSON.parse(line) as { url: string }).url);
      } catch {
        reject(new Error(`vcsim printed ${JSON.stringify(line)} instead of its address`));
      }
    });
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.stdin?.end(); // vcsim exits when its stdin closes
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}
