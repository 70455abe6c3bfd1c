import {
  type Dialer,
  describeOptions,
  type LogLevel,
  type Platform,
  parseLogLevel,
  readPublicKeyFiles,
  resolveOptions,
  UsageError,
} from '@mantle/cluster';
import { loadPlatform, type OpenedRun, openRun, parseDuration } from '@mantle/harness';
import type { CommonOptions } from '../common-options.js';
import type { Interrupts } from '../interrupts.js';
import { platformFlagValues } from '../platform-flags.js';

export function logLevelOf(opts: CommonOptions): LogLevel {
  if (opts.logLevel) return parseLogLevel(opts.logLevel) ?? 'notice';
  if (opts.debug) return 'debug';
  if (opts.verbose) return 'info';
  return 'notice';
}

export function positiveInteger(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag}: "${value}" is not a whole number ≥ 1`);
  return n;
}

export interface ResolvedPlatform {
  platform: Platform;
  options: unknown;
}

/** Loads the -p platform and resolves its options from flags > env > defaults. */
export async function resolvePlatform(
  opts: CommonOptions & Record<string, unknown>,
): Promise<ResolvedPlatform> {
  const platform = await loadPlatform(opts.platform);
  const specs = describeOptions(platform.name, platform.options);
  const options = resolveOptions(platform.name, platform.options, { flags: platformFlagValues(specs, opts) });
  return { platform, options };
}

export function sshSettings(opts: CommonOptions) {
  return {
    sshUser: opts.sshUser,
    sshTimeoutMs: parseDuration(opts.sshTimeout, '--ssh-timeout'),
    extraPublicKeys: readPublicKeyFiles(opts.key ?? []),
  };
}

/**
 * Test-only SSH routing (`KOLA_INTERNAL_TEST_DIALER=/abs/module.mjs`, whose `dialer` export is a
 * Dialer): how the repo's tests reach emulated clouds' machines through a real kola process, as
 * KOLA_INTERNAL_TEST_PLATFORMS does for platforms. Unset in normal use.
 */
export const testDialerVariable = 'KOLA_INTERNAL_TEST_DIALER';

async function testDialer(env: NodeJS.ProcessEnv = process.env): Promise<Dialer | undefined> {
  const path = env[testDialerVariable];
  if (!path) return undefined;
  return ((await import(path)) as { dialer: Dialer }).dialer;
}

/** Opens the run's output directory, ledger, log and SSH identity for a resolved platform. */
export async function openRunFor(
  opts: CommonOptions,
  platform: Platform,
  interrupts: Interrupts,
  ssh: ReturnType<typeof sshSettings>,
): Promise<OpenedRun> {
  const dialer = await testDialer();
  const run = await openRun({
    platform: platform.name,
    ...(opts.outputDir ? { outputDir: opts.outputDir } : {}),
    basename: opts.basename,
    ...ssh,
    logLevel: logLevelOf(opts),
    signal: interrupts.signal,
    ...(dialer ? { dialer } : {}),
  });
  interrupts.runDir = run.outputDir;
  return run;
}
