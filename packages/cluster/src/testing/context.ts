import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ledger } from '../ledger.js';
import { type Logger, silentLogger } from '../log.js';
import type { PlatformContext } from '../platform.js';
import { generateSshIdentity, HostKeyStore } from '../ssh.js';

export interface TestContextOptions {
  /** Where the run's files go; a fresh temp dir (removed by dispose) when unset. */
  outputDir?: string;
  /** The run's root signal; one that never aborts when unset. */
  signal?: AbortSignal;
  /** How long to wait for SSH on new machines (default 10 s: tests should fail fast). */
  sshTimeoutMs?: number;
  /** Silent when unset. */
  log?: Logger;
}

/** A PlatformContext for tests, plus `dispose()` (closes the ledger, removes a temp output dir). */
export interface TestContext extends PlatformContext {
  dispose(): Promise<void>;
}

/** Everything a platform needs for one run, made for tests: temp output dir, ledger, fresh SSH key. */
export function createTestContext(options: TestContextOptions = {}): TestContext {
  const ownDir = options.outputDir === undefined;
  const outputDir = options.outputDir ?? mkdtempSync(join(tmpdir(), 'kola-test-'));
  mkdirSync(outputDir, { recursive: true });
  const ledger = Ledger.open(join(outputDir, 'ledger.jsonl'));
  const runId = `kola-${randomBytes(4).toString('hex')}`;
  let disposed = false;
  return {
    log: options.log ?? silentLogger(),
    signal: options.signal ?? new AbortController().signal,
    outputDir,
    ssh: generateSshIdentity(),
    sshTimeoutMs: options.sshTimeoutMs ?? 10_000,
    hostKeys: new HostKeyStore(),
    tags: { 'created-by': 'mantle', 'kola-run': runId },
    ledger,
    runId,
    basename: 'kola',
    async dispose() {
      if (disposed) return;
      disposed = true;
      ledger.close();
      if (ownDir) rmSync(outputDir, { recursive: true, force: true });
    },
  };
}
