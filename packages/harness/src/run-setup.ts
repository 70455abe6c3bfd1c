import { randomBytes } from 'node:crypto';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  createLogger,
  type Dialer,
  generateSshIdentity,
  HostKeyStore,
  jsonFileSink,
  Ledger,
  type Logger,
  type LogLevel,
  type PlatformContext,
  redactValue,
  streamSink,
  writeSshPrivateKey,
} from '@mantle/cluster';
import { prepareOutputDir } from './output-dir.js';

export interface OpenRunOptions {
  platform: string;
  /** --output-dir; default `_kola_temp/<platform>-<stamp>-<pid>` with a `-latest` link. */
  outputDir?: string;
  cwd?: string;
  basename?: string;
  sshUser?: string;
  /** Public keys from --key, authorized besides the flight's own key. */
  extraPublicKeys?: string[];
  sshTimeoutMs?: number;
  logLevel?: LogLevel;
  stderr?: { write(s: string): unknown };
  signal: AbortSignal;
  dialer?: Dialer;
}

export interface OpenedRun {
  ctx: PlatformContext;
  outputDir: string;
  latestLink?: string;
  log: Logger;
  close(): void;
}

/**
 * Prepares everything a run shares: the output directory and its -latest link, kola.log, the
 * ledger, the flight's SSH key pair (written to ssh/id_ed25519 so kept machines can be reached),
 * and the tags every created resource carries.
 */
export async function openRun(options: OpenRunOptions): Promise<OpenedRun> {
  const { dir, latestLink } = await prepareOutputDir({
    platform: options.platform,
    ...(options.outputDir ? { outputDir: options.outputDir } : {}),
    ...(options.cwd ? { cwd: options.cwd } : {}),
  });
  const log = createLogger([
    streamSink(options.stderr ?? process.stderr, options.logLevel ?? 'notice'),
    jsonFileSink(join(dir, 'kola.log'), 'debug'),
  ]);
  const basename = options.basename ?? 'kola';
  const runId = `${basename}-${randomBytes(4).toString('hex')}`;
  const identity = writeSshPrivateKey(
    generateSshIdentity({
      user: options.sshUser ?? 'core',
      comment: `${runId}@kola`,
      extraPublicKeys: options.extraPublicKeys ?? [],
    }),
    join(dir, 'ssh', 'id_ed25519'),
  );
  const ledger = Ledger.open(join(dir, 'ledger.jsonl'));
  const ctx: PlatformContext = {
    log,
    signal: options.signal,
    outputDir: dir,
    ssh: identity,
    sshTimeoutMs: options.sshTimeoutMs ?? 5 * 60_000,
    hostKeys: new HostKeyStore(),
    tags: { 'created-by': 'mantle', 'kola-run': runId },
    ledger,
    runId,
    basename,
    ...(options.dialer ? { dialer: options.dialer } : {}),
  };
  const opened: OpenedRun = {
    ctx,
    outputDir: dir,
    log,
    close() {
      ledger.close();
      log.close();
    },
  };
  if (latestLink) opened.latestLink = latestLink;
  return opened;
}

export interface RunProperties {
  cmdline: string[];
  platform: string;
  version: string;
  /** The running platform's block, keyed by its name (values after resolution). */
  platformProperties: Record<string, unknown>;
  extra?: Record<string, unknown>;
}

/** Writes properties.json (atomically; secrets redacted). */
export function writeProperties(outputDir: string, p: RunProperties): void {
  const body = redactValue({
    cmdline: p.cmdline,
    platform: p.platform,
    version: p.version,
    ...p.extra,
    [p.platform]: p.platformProperties,
  });
  const path = join(outputDir, 'properties.json');
  writeFileSync(`${path}.tmp`, `${JSON.stringify(body, null, 4)}\n`);
  renameSync(`${path}.tmp`, path);
}
