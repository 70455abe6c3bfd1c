import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, '../../..');
/** The shipped binary. */
export const kolaBin = join(repoRoot, 'packages/kola/bin/kola.js');
/** kola with the tests' platforms, fixture tests and dialer (test/support/kola.mjs). */
export const kolaMain = join(here, 'support/kola.mjs');
export const fixturePlatform = join(here, 'fixtures/platform.mjs');
export const fixtureTests = join(here, 'fixtures/tests.mjs');
export const fixtureTestsDir = join(here, 'fixtures');

export interface KolaResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function tempDir(prefix = 'kola-cli-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A cache of this test process's own, so kola's remembered test durations stay out of the user's. */
let fakeCache: string | undefined;

/** Environment that exposes the fake platform and the fixture tests to a kola process. */
export function fakeEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  fakeCache ??= tempDir('kola-cli-cache-');
  return {
    ...process.env,
    KOLA_TEST_PLATFORMS: `fake=${fixturePlatform}`,
    KOLA_TEST_MODULES: fixtureTests,
    XDG_CACHE_HOME: fakeCache,
    ...extra,
  };
}

export function startKola(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): ChildProcess {
  return spawn(process.execPath, [kolaMain, ...args], {
    cwd: options.cwd ?? repoRoot,
    env: options.env ?? fakeEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export function collect(child: ChildProcess, timeoutMs = 60_000): Promise<KolaResult> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => {
    stdout += d;
  });
  child.stderr?.on('data', (d) => {
    stderr += d;
  });
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`kola did not exit within ${timeoutMs}ms\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr });
    });
  });
}

export function kola(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
) {
  return collect(startKola(args, options), options.timeoutMs);
}

/** Resolves once `predicate(output so far)` holds on the child's stdout or stderr. */
export function waitForOutput(
  child: ChildProcess,
  predicate: (text: string) => boolean,
  timeoutMs = 30_000,
): Promise<void> {
  let text = '';
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`output never matched; got:\n${text}`)), timeoutMs);
    const onData = (d: Buffer) => {
      text += d;
      if (predicate(text)) {
        clearTimeout(timer);
        resolvePromise();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
  });
}

/** Polls `predicate` until it holds (for conditions no output announces, like files appearing). */
export async function waitUntil(predicate: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Machines the fake cloud still has (state files). */
export function liveFakeMachines(stateDir: string): string[] {
  const dir = join(stateDir, 'machines');
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')) : [];
}

export function readJson<T = unknown>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

export interface LedgerLine {
  event: 'create' | 'destroy';
  key: string;
}

export function ledgerAlive(runDir: string): string[] {
  const lines = readFileSync(join(runDir, 'ledger.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as LedgerLine);
  const alive = new Set<string>();
  for (const l of lines) {
    if (l.event === 'create') alive.add(l.key);
    else alive.delete(l.key);
  }
  return [...alive];
}

export function ledgerCreated(runDir: string): number {
  return readFileSync(join(runDir, 'ledger.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.includes('"event":"create"')).length;
}
