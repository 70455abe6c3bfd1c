import {
  createLogger,
  describeOptions,
  errorMessage,
  isMantleError,
  type LogLevel,
  type Platform,
  type PlatformCommand,
  parseLogLevel,
  resolveOptions,
  streamSink,
  UsageError,
} from '@mantle/cluster';
import { parseDuration, platformEntries } from '@mantle/harness';
import { Command, CommanderError, Option } from 'commander';
import { addSpecFlags, specFlagValues } from './flags.js';
import { type GcFlags, gcExitCode, gcPlatform, type PlatformGcOutcome } from './gc.js';
import { createIo } from './io.js';

/**
 * `ore <platform> <verb>`: verbs come from each platform's `commands` (plus a generated `gc` where
 * the platform has GC kinds); `ore gc` sweeps every platform. Only the platform named on the
 * command line is loaded, and its SDK only when a verb runs.
 */

const defaultGcAge = '5h';
/** Test-only clock for gc ages (the emulators stamp resources with the real time). */
const testNowVariable = 'ORE_INTERNAL_TEST_NOW';

interface CommonFlags {
  verbose?: boolean;
  debug?: boolean;
  logLevel?: string;
  json?: boolean;
}

function addCommonFlags(command: Command, withJson = true): Command {
  command
    .option('-v, --verbose', 'log at INFO')
    .option('-d, --debug', 'log at DEBUG')
    .addOption(
      new Option('--log-level <level>', 'log level').choices(['debug', 'info', 'notice', 'warning', 'error']),
    );
  if (withJson) command.option('--json', 'print results as JSON');
  return command;
}

function logLevelOf(flags: CommonFlags): LogLevel {
  if (flags.logLevel) return parseLogLevel(flags.logLevel) ?? 'notice';
  if (flags.debug) return 'debug';
  if (flags.verbose) return 'info';
  return 'notice';
}

/** First Ctrl-C aborts the verb (which cleans up what it started); a second exits at once. */
function interruptSignal(): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  let count = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    if (++count === 1) {
      process.stderr.write(`\nore: ${sig}: stopping (press Ctrl-C again to exit at once)\n`);
      controller.abort(new Error(`interrupted by ${sig}`));
    } else process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

let exitCode = 0;
const interrupts = interruptSignal();

function gcFlagsOf(opts: Record<string, unknown>, locations: string[]): GcFlags {
  const now = process.env[testNowVariable] ? new Date(process.env[testNowVariable]) : new Date();
  if (Number.isNaN(now.getTime())) throw new UsageError(`$${testNowVariable} is not a date`);
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
    now,
  };
}

function addGcFlags(command: Command): Command {
  return command
    .option('--apply', 'delete; without it gc only prints what it would delete and why')
    .option('--older-than <duration>', `only resources older than this (default ${defaultGcAge})`)
    .addOption(new Option('--duration <duration>', 'mantle spelling of --older-than').hideHelp())
    .option('--all-regions', 'every region the account can use')
    .option(
      '--kind <kind>',
      'only this resource kind, e.g. aws.instance (repeatable)',
      (v: string, p: string[] | undefined) => [...(p ?? []), v],
    );
}

/** Platform options from flags (and their aliases) > env > defaults; gc takes every location given. */
function platformOptionsOf(platform: Platform, opts: Record<string, unknown>, forGc: boolean) {
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

function addVerb(group: Command, platform: Platform, verb: PlatformCommand): void {
  const command = group.command(verb.name).description(verb.description);
  for (const a of verb.arguments ?? [])
    command.argument(
      a.required ? `<${a.name}${a.variadic ? '...' : ''}>` : `[${a.name}${a.variadic ? '...' : ''}]`,
      a.description,
    );
  const verbSpecs = verb.options ? describeOptions(platform.name, verb.options, '--') : [];
  addSpecFlags(command, verbSpecs);
  addSpecFlags(command, describeOptions(platform.name, platform.options));
  addCommonFlags(command);
  command.action(async (...params: unknown[]) => {
    const cmd = params[params.length - 1] as Command;
    const opts = cmd.opts() as Record<string, unknown> & CommonFlags;
    const args = (
      params.slice(0, (verb.arguments ?? []).length) as Array<string | string[] | undefined>
    ).flatMap((a) => (a === undefined ? [] : Array.isArray(a) ? a : [a]));
    const options = verb.options
      ? resolveOptions(platform.name, verb.options, {
          flags: specFlagValues(verbSpecs, opts),
          flagPrefix: '--',
        })
      : {};
    const { options: platformOptions } = platformOptionsOf(platform, opts, false);
    const log = createLogger([streamSink(process.stderr, logLevelOf(opts))]).child({
      platform: platform.name,
    });
    const code = await verb.run({
      options: options as Record<string, unknown>,
      platformOptions,
      args,
      log,
      signal: interrupts.signal,
      io: createIo(process.stdout, process.stderr, Boolean(opts.json)),
    });
    exitCode = code ?? 0;
  });
}

function addPlatformGcVerb(group: Command, platform: Platform): void {
  const command = addGcFlags(
    group
      .command('gc')
      .description(`plan (or with --apply, do) the removal of what ${platform.name} test runs leaked`),
  );
  addSpecFlags(command, describeOptions(platform.name, platform.options), { repeatLocations: true });
  addCommonFlags(command);
  command.action(async (opts: Record<string, unknown> & CommonFlags) => {
    const { options, locations } = platformOptionsOf(platform, opts, true);
    const io = createIo(process.stdout, process.stderr, Boolean(opts.json));
    const log = createLogger([streamSink(process.stderr, logLevelOf(opts))]).child({
      platform: platform.name,
    });
    const outcome = await gcPlatform(
      platform,
      options,
      gcFlagsOf(opts, locations),
      io,
      log,
      interrupts.signal,
    );
    if (io.json) io.result(outcome);
    exitCode = gcExitCode([outcome]);
  });
}

async function addPlatformGroup(program: Command, platform: Platform): Promise<void> {
  const group = program.command(platform.name).description(platform.description);
  group.configureOutput({
    writeErr: (s) => process.stderr.write(s),
    writeOut: (s) => process.stdout.write(s),
  });
  for (const verb of platform.commands ?? []) addVerb(group, platform, verb);
  if (platform.gc) addPlatformGcVerb(group, platform);
}

async function addCrossPlatformGc(program: Command, platforms: Platform[]): Promise<void> {
  const command = addGcFlags(
    program
      .command('gc')
      .description('plan (or with --apply, do) the removal of leaked resources on every platform with gc')
      .option(
        '-p, --platform <name>',
        'only this platform (repeatable)',
        (v: string, p: string[] | undefined) => [...(p ?? []), v],
      ),
  );
  // mantle's short spellings (--region) would be ambiguous across platforms: prefixed flags only
  for (const platform of platforms)
    addSpecFlags(command, describeOptions(platform.name, platform.options), {
      repeatLocations: true,
      aliases: false,
    });
  addCommonFlags(command);
  command.action(async (opts: Record<string, unknown> & CommonFlags) => {
    const wanted = (opts.platform as string[] | undefined) ?? [];
    const known = platforms.map((p) => p.name);
    const unknown = wanted.filter((w) => !known.includes(w));
    if (unknown.length)
      throw new UsageError(`--platform: unknown ${unknown.join(', ')} (with gc: ${known.join(', ')})`);
    const io = createIo(process.stdout, process.stderr, Boolean(opts.json));
    const outcomes: PlatformGcOutcome[] = [];
    for (const platform of platforms.filter((p) => wanted.length === 0 || wanted.includes(p.name))) {
      const log = createLogger([streamSink(process.stderr, logLevelOf(opts))]).child({
        platform: platform.name,
      });
      try {
        const { options, locations } = platformOptionsOf(platform, opts, true);
        outcomes.push(
          await gcPlatform(platform, options, gcFlagsOf(opts, locations), io, log, interrupts.signal),
        );
      } catch (e) {
        if (interrupts.signal.aborted) throw e;
        // one platform's bad credentials must not stop the sweep of the others
        outcomes.push({ platform: platform.name, error: errorMessage(e) });
        if (!io.json) process.stderr.write(`ore gc: ${platform.name}: ${errorMessage(e)}\n`);
      }
    }
    if (io.json) io.result(outcomes);
    exitCode = gcExitCode(outcomes);
  });
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const program = new Command('ore')
    .description('upload OS images to clouds, make cloud images of them, collect what test runs leaked')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s), writeOut: (s) => process.stdout.write(s) });
  try {
    const entries = platformEntries();
    const named = argv.find((a) => !a.startsWith('-'));
    const entry = entries.find((e) => e.name === named);
    if (entry) await addPlatformGroup(program, await entry.load());
    else if (named === 'gc') {
      const loaded = await Promise.all(entries.map((e) => e.load()));
      await addCrossPlatformGc(
        program,
        loaded.filter((p) => p.gc),
      );
    } else {
      // `ore --help`: list groups without loading any platform
      for (const e of entries) program.command(e.name).description(e.description);
      program
        .command('gc')
        .description('plan (or with --apply, do) the removal of leaked resources on every platform');
    }
    // commander's exitOverride must reach every level so usage errors come back as exceptions
    for (const c of program.commands) {
      c.exitOverride();
      for (const v of c.commands) v.exitOverride();
    }
    await program.parseAsync(process.argv);
    return exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (
        e.code === 'commander.helpDisplayed' ||
        e.code === 'commander.help' ||
        e.code === 'commander.version'
      )
        return 0;
      return 2;
    }
    process.stderr.write(`ore: ${errorMessage(e)}\n`);
    if (process.env.ORE_DEBUG_STACK && e instanceof Error) process.stderr.write(`${e.stack}\n`);
    if (isMantleError(e)) return e.exitCode;
    return 3;
  }
}

const code = await main();
interrupts.dispose();
process.exit(code);
