import { logLevelOf, specFlagValues } from '@mantle/cli';
import {
  type CommandIo,
  createLogger,
  describeOptions,
  errorMessage,
  type Logger,
  type Platform,
  type PlatformEntry,
  type PlatformOptionsSchema,
  parseDuration,
  resolveOptions,
  streamSink,
  UsageError,
} from '@mantle/cluster';
import type { z } from 'zod';
import { defaultGcAge, type OreActionEnvironment, type OreFlags } from './environment.js';
import { type GcFlags, gcExitCode, gcPlatform, type PlatformGcOutcome } from './gc.js';
import { createIo } from './io.js';

// What ore's verbs do once parsed: load the platform, resolve its options with its schema, run.

function gcFlagsOf(opts: OreFlags, locations: string[], env: OreActionEnvironment): GcFlags {
  if (opts.olderThan !== undefined && opts.duration !== undefined)
    throw new UsageError('--older-than and --duration are the same option: give one');
  const age = (opts.olderThan ?? opts.duration ?? defaultGcAge) as string;
  if (opts.allRegions && locations.length) throw new UsageError('--all-regions and --region: give one');
  return {
    apply: Boolean(opts.apply),
    olderThanMs: parseDuration(age, opts.duration !== undefined ? '--duration' : '--older-than'),
    locations,
    allLocations: Boolean(opts.allRegions),
    kinds: (opts.kind as string[] | undefined) ?? [],
    now: env.deps.now?.() ?? new Date(),
  };
}

/** Platform options from flags (and their aliases) > env > defaults; gc takes every location given. */
function platformOptionsOf<S extends PlatformOptionsSchema>(
  platform: Platform<S>,
  opts: OreFlags,
  forGc: boolean,
): { options: z.output<S>; locations: string[] } {
  const specs = describeOptions(platform.name, platform.options);
  const flags = specFlagValues(specs, opts);
  const locations: string[] = [];
  if (forGc)
    for (const spec of specs.filter((s) => s.location)) {
      const given = flags[spec.key];
      if (Array.isArray(given)) {
        locations.push(...(given as string[]));
        flags[spec.key] = given[0];
      }
    }
  return { options: resolveOptions(platform.name, platform.options, { flags }), locations };
}

function loggerFor(platform: string, opts: OreFlags): Logger {
  return createLogger([streamSink(process.stderr, logLevelOf(opts))]).child({ platform });
}

export async function runVerb(
  entry: PlatformEntry,
  verbName: string,
  opts: OreFlags,
  args: string[],
  env: OreActionEnvironment,
): Promise<void> {
  const platform = await entry.load();
  const verb = platform.commands?.find((c) => c.name === verbName);
  if (!verb) throw new UsageError(`ore ${platform.name}: no verb "${verbName}"`);
  const options = verb.options
    ? resolveOptions(platform.name, verb.options, {
        flags: specFlagValues(describeOptions(platform.name, verb.options, '--'), opts),
        flagPrefix: '--',
      })
    : {};
  const { options: platformOptions } = platformOptionsOf(platform, opts, false);
  const code = await verb.run({
    options,
    platformOptions,
    args,
    log: loggerFor(platform.name, opts),
    signal: env.signal,
    io: createIo(process.stdout, process.stderr, Boolean(opts.json)),
  });
  env.setExitCode(code ?? 0);
}

/** Loads one platform, resolves its options and gc flags, and sweeps it. */
async function sweep(
  entry: PlatformEntry,
  opts: OreFlags,
  env: OreActionEnvironment,
  io: CommandIo,
): Promise<PlatformGcOutcome> {
  const platform = await entry.load();
  const { options, locations } = platformOptionsOf(platform, opts, true);
  const log = loggerFor(platform.name, opts);
  return gcPlatform(platform, options, gcFlagsOf(opts, locations, env), io, log, env.signal);
}

export async function runPlatformGc(
  entry: PlatformEntry,
  opts: OreFlags,
  env: OreActionEnvironment,
): Promise<void> {
  const io = createIo(process.stdout, process.stderr, Boolean(opts.json));
  const outcome = await sweep(entry, opts, env, io);
  if (io.json) io.result(outcome);
  env.setExitCode(gcExitCode([outcome]));
}

export async function runCrossPlatformGc(
  entries: readonly PlatformEntry[],
  opts: OreFlags,
  env: OreActionEnvironment,
): Promise<void> {
  const wanted = (opts.platform as string[] | undefined) ?? [];
  const known = entries.map((e) => e.name);
  const names = (e: PlatformEntry) => [e.name, ...(e.oreName ? [e.oreName] : [])];
  const unknown = wanted.filter((w) => !entries.some((e) => names(e).includes(w)));
  if (unknown.length)
    throw new UsageError(`--platform: unknown ${unknown.join(', ')} (with gc: ${known.join(', ')})`);
  const io = createIo(process.stdout, process.stderr, Boolean(opts.json));
  const outcomes: PlatformGcOutcome[] = [];
  for (const entry of entries.filter(
    (e) => wanted.length === 0 || names(e).some((n) => wanted.includes(n)),
  )) {
    try {
      outcomes.push(await sweep(entry, opts, env, io));
    } catch (e) {
      if (env.signal.aborted) throw e;
      // one platform's bad credentials must not stop the sweep of the others
      outcomes.push({ platform: entry.name, error: errorMessage(e) });
      if (!io.json) process.stderr.write(`ore gc: ${entry.name}: ${errorMessage(e)}\n`);
    }
  }
  if (io.json) io.result(outcomes);
  env.setExitCode(gcExitCode(outcomes));
}
