import { addLogFlags, addSpecFlags, exitCodeOf, Interrupts, overrideExitEverywhere } from '@mantle/cli';
import { Command } from 'commander';
import { addCommonOptions, collect } from './common-options.js';
import type { KolaCommandEnvironment, KolaDependencies } from './environment.js';
import { kolaVersion } from './version.js';

// Only commander and the CLI core are loaded up front: each command imports what it needs when it
// runs, and platform flags come from the build's manifest, so help and `kola list` stay cheap.

function buildProgram(env: KolaCommandEnvironment): Command {
  const program = new Command('kola')
    .description('boot OS images on a platform, test them over SSH, collect their logs, clean up')
    .version(kolaVersion, '--version', 'print the version')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeErr: (s) => process.stderr.write(s), writeOut: (s) => process.stdout.write(s) });

  addCommonOptions(
    program
      .command('run')
      .description('run tests whose names match the glob patterns (default: all)')
      .argument('[patterns...]', "test name globs, e.g. 'basic.*'")
      .option(
        '-j, --parallel <n>',
        "tests to run at once (default: the platform's choice, e.g. one per core on qemu)",
      )
      .option('--tag <tag>', 'only tests with this tag (repeatable)', collect, [])
      .option('--denylist <file>', 'YAML file of tests to skip, with reasons')
      .option('--timeout <duration>', "per-test limit, overriding each test's own (default 10m)")
      .option('--max-runtime <duration>', 'limit for the whole run')
      .option('--tapfile <file>', 'also copy test.tap here')
      .option('--no-remove', 'keep the machines of failed tests, and print how to reach them')
      .option(
        '-E, --exttest <dir>',
        'add each executable in DIR as a test ext.<dir>.<file> (repeatable)',
        collect,
        [],
      ),
  ).action(async (patterns: string[], opts) => {
    const { runCommand } = await import('./commands/run.js');
    process.exitCode = await runCommand(patterns, opts, env);
  });

  addCommonOptions(
    program
      .command('list')
      .description('list tests (optionally those matching patterns, or runnable on -p)')
      .argument('[patterns...]', 'test name globs')
      .option('--json', 'print JSON')
      .option('-E, --exttest <dir>', 'include external tests from DIR (repeatable)', collect, []),
  ).action(async (patterns: string[], opts) => {
    const { listCommand } = await import('./commands/list.js');
    process.exitCode = await listCommand(patterns, opts, env);
  });

  addCommonOptions(
    program
      .command('spawn')
      .description('start machines and print how to reach them; destroys them on Ctrl-C unless --detach')
      .option('-c, --nodecount <n>', 'machines to start', '1')
      .option('-u, --userdata <file>', 'userdata file: Ignition JSON, #cloud-config or a #! script')
      .option('-t, --detach', 'leave the machines running and exit (destroy later with kola cleanup)'),
  ).action(async (opts) => {
    const { spawnCommand } = await import('./commands/spawn.js');
    process.exitCode = await spawnCommand(opts, env);
  });

  addCommonOptions(
    program
      .command('cleanup')
      .description("destroy every resource a run's ledger still lists as alive")
      .requiredOption('--run <dir>', 'the output directory of the run'),
  ).action(async (opts) => {
    const { cleanupCommand } = await import('./commands/cleanup.js');
    process.exitCode = await cleanupCommand(opts, env);
  });

  program
    .command('version')
    .description('print the version')
    .action(() => {
      process.stdout.write(`mantle/kola version ${kolaVersion}\n`);
    });
  for (const c of program.commands) if (c.name() !== 'version') addLogFlags(c);
  return program;
}

/** The subcommand named on the command line, if any. */
function subcommandOf(args: string[]): string | undefined {
  return args.find((a) => !a.startsWith('-'));
}

/**
 * kola's command line: parses `argv` (process.argv's shape), runs the subcommand and returns the
 * exit code. Never exits the process itself except on a second Ctrl-C (through `exit`).
 */
export async function runKola(
  argv: string[],
  deps: KolaDependencies,
  exit: (code: number) => void = (code) => process.exit(code),
): Promise<number> {
  const runDir: { current?: string } = {};
  const interrupts = new Interrupts({
    program: 'kola',
    stderr: process.stderr,
    stopping: 'stopping tests and destroying machines',
    leftBehind: () =>
      `to destroy what may be left run:\n  kola cleanup --run ${runDir.current ?? '<output dir>'}`,
    exit,
  });
  process.exitCode = undefined;
  try {
    const program = buildProgram({ deps, interrupts, runDir, argv });
    const sub = subcommandOf(argv.slice(2));
    if (sub === 'run' || sub === 'spawn' || sub === 'cleanup') {
      // every platform's --<platform>-* flags, from the build's manifest (no platform is loaded)
      const { describePlatformEntries } = await import('@mantle/platforms');
      const command = program.commands.find((c) => c.name() === sub)!;
      for (const platform of await describePlatformEntries(deps.platforms))
        addSpecFlags(command, platform.options, { aliases: false });
    }
    overrideExitEverywhere(program);
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    return exitCodeOf(e, 'kola', process.stderr);
  } finally {
    interrupts.dispose();
  }
}
