import { logLevelOf, specFlagValues } from '@mantle/cli';
import {
  describeOptions,
  type Platform,
  type PlatformOptionsSchema,
  parseDuration,
  readPublicKeyFiles,
  resolveOptions,
  UsageError,
} from '@mantle/cluster';
import { type OpenedRun, openRun } from '@mantle/harness';
import { loadPlatform } from '@mantle/platforms';
import type { z } from 'zod';
import type { CommonOptions } from '../common-options.js';
import type { KolaCommandEnvironment } from '../environment.js';

export { logLevelOf };

export function positiveInteger(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag}: "${value}" is not a whole number ≥ 1`);
  return n;
}

/** A platform with its options resolved by its own schema: the pair every command passes on. */
export interface ResolvedPlatform<S extends PlatformOptionsSchema = PlatformOptionsSchema> {
  platform: Platform<S>;
  options: z.output<S>;
}

/** Resolves a platform's options from flags > env > defaults. */
export function resolvePlatformOptions<S extends PlatformOptionsSchema>(
  platform: Platform<S>,
  opts: Record<string, unknown>,
): ResolvedPlatform<S> {
  const specs = describeOptions(platform.name, platform.options);
  const flags = specFlagValues(specs, opts);
  return { platform, options: resolveOptions(platform.name, platform.options, { flags }) };
}

/** Loads the -p platform and resolves its options. */
export async function resolvePlatform(
  opts: CommonOptions & Record<string, unknown>,
  env: KolaCommandEnvironment,
): Promise<ResolvedPlatform> {
  return resolvePlatformOptions(await loadPlatform(opts.platform, env.deps.platforms), opts);
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
  env: KolaCommandEnvironment,
  ssh: ReturnType<typeof sshSettings>,
): Promise<OpenedRun> {
  const run = await openRun({
    platform: platform.name,
    ...(opts.outputDir ? { outputDir: opts.outputDir } : {}),
    basename: opts.basename,
    ...ssh,
    logLevel: logLevelOf(opts),
    signal: env.interrupts.signal,
    ...(env.deps.dialer ? { dialer: env.deps.dialer } : {}),
  });
  env.runDir.current = run.outputDir;
  return run;
}
