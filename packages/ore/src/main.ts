import { addLogFlags, addSpecFlags, exitCodeOf, Interrupts, overrideExitEverywhere } from '@mantle/cli';
import type { PlatformEntry } from '@mantle/cluster';
import type { PlatformDescription } from '@mantle/platforms';
import { Command, Option } from 'commander';
import {
  defaultGcAge,
  type OreActionEnvironment,
  type OreDependencies,
  type OreFlags,
} from './environment.js';

/**
 * `ore <platform> <verb>`: verbs come from each platform's `commands` (plus a generated `gc` where
 * the platform has gc); `ore gc` sweeps every platform. Help and parsing are built from the
 * platforms' descriptions (the build's manifest); a platform, zod and the SDK load only when a verb
 * runs (actions.ts).
 */

function addCommonFlags(command: Command): Command {
  return addLogFlags(command).option('--json', 'print results as JSON');
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

function addPlatformGroup(
  program: Command,
  entry: PlatformEntry,
  platform: PlatformDescription,
  env: OreActionEnvironment,
): void {
  // mantle's ore group names (gcloud) where they differ from kola's; the kola name works as well
  const group = program.command(entry.oreName ?? platform.name).description(platform.description);
  if (entry.oreName && entry.oreName !== platform.name) group.alias(platform.name);
  group.configureOutput({
    writeErr: (s) => process.stderr.write(s),
    writeOut: (s) => process.stdout.write(s),
  });
  for (const verb of platform.commands) {
    const command = group.command(verb.name).description(verb.description);
    for (const a of verb.arguments)
      command.argument(
        a.required ? `<${a.name}${a.variadic ? '...' : ''}>` : `[${a.name}${a.variadic ? '...' : ''}]`,
        a.description,
      );
    addSpecFlags(command, verb.options);
    addSpecFlags(command, platform.options);
    addCommonFlags(command);
    command.action(async (...params: unknown[]) => {
      const cmd = params[params.length - 1] as Command;
      const args = (params.slice(0, verb.arguments.length) as Array<string | string[] | undefined>).flatMap(
        (a) => (a === undefined ? [] : Array.isArray(a) ? a : [a]),
      );
      const { runVerb } = await import('./actions.js');
      await runVerb(entry, verb.name, cmd.opts() as OreFlags, args, env);
    });
  }
  if (platform.gc) {
    const command = addGcFlags(
      group
        .command('gc')
        .description(`plan (or with --apply, do) the removal of what ${platform.name} test runs leaked`),
    );
    addSpecFlags(command, platform.options, { repeatLocations: true });
    addCommonFlags(command);
    command.action(async (opts: OreFlags) => {
      const { runPlatformGc } = await import('./actions.js');
      await runPlatformGc(entry, opts, env);
    });
  }
}

function addCrossPlatformGc(
  program: Command,
  platforms: Array<{ entry: PlatformEntry; description: PlatformDescription }>,
  env: OreActionEnvironment,
): void {
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
  for (const { description } of platforms)
    addSpecFlags(command, description.options, { repeatLocations: true, aliases: false });
  addCommonFlags(command);
  command.action(async (opts: OreFlags) => {
    const { runCrossPlatformGc } = await import('./actions.js');
    await runCrossPlatformGc(
      platforms.map((p) => p.entry),
      opts,
      env,
    );
  });
}

/**
 * ore's command line: parses `argv` (process.argv's shape), runs the verb and returns the exit code.
 * Never exits the process itself except on a second Ctrl-C (through `exit`).
 */
export async function runOre(
  argv: string[],
  deps: OreDependencies,
  exit: (code: number) => void = (code) => process.exit(code),
): Promise<number> {
  let exitCode = 0;
  const interrupts = new Interrupts({ program: 'ore', stderr: process.stderr, stopping: 'stopping', exit });
  const env: OreActionEnvironment = {
    deps,
    signal: interrupts.signal,
    setExitCode: (code) => {
      exitCode = code;
    },
  };
  const program = new Command('ore')
    .description('upload OS images to clouds, make cloud images of them, collect what test runs leaked')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeErr: (s) => process.stderr.write(s), writeOut: (s) => process.stdout.write(s) });
  try {
    const named = argv.slice(2).find((a) => !a.startsWith('-'));
    const entry = named ? deps.platforms.find((e) => e.name === named || e.oreName === named) : undefined;
    if (entry) {
      const { describePlatformEntries } = await import('@mantle/platforms');
      const [description] = await describePlatformEntries([entry]);
      addPlatformGroup(program, entry, description!, env);
    } else if (named === 'gc') {
      const { describePlatformEntries } = await import('@mantle/platforms');
      const descriptions = await describePlatformEntries(deps.platforms);
      addCrossPlatformGc(
        program,
        deps.platforms
          .map((e, i) => ({ entry: e, description: descriptions[i]! }))
          .filter((p) => p.description.gc),
        env,
      );
    } else {
      // `ore --help`: list groups without describing any platform
      for (const e of deps.platforms) program.command(e.oreName ?? e.name).description(e.description);
      program
        .command('gc')
        .description('plan (or with --apply, do) the removal of leaked resources on every platform');
    }
    overrideExitEverywhere(program);
    await program.parseAsync(argv);
    return exitCode;
  } catch (e) {
    return exitCodeOf(e, 'ore', process.stderr);
  } finally {
    interrupts.dispose();
  }
}
