import {
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

/** Opens the run's output directory, ledger, log and SSH identity for a resolved platform. */
export async function openRunFor(
  opts: CommonOptions,
  platform: Platform,
  interrupts: Interrupts,
  ssh: ReturnType<typeof sshSettings>,
): Promise<OpenedRun> {
  const run = await openRun({
    platform: platform.name,
    ...(opts.outputDir ? { outputDir: opts.outputDir } : {}),
    basename: opts.basename,
    ...ssh,
    logLevel: logLevelOf(opts),
    signal: interrupts.signal,
  });
  interrupts.runDir = run.outputDir;
  return run;
}
