import { Command, CommanderError } from 'commander';
import { addCommonOptions, type CommonOptions, collect } from './common-options.js';
import { Interrupts } from './interrupts.js';
import { kolaVersion } from './version.js';

// Only commander is loaded up front: each command imports what it needs when it runs, so
// `kola --help` stays close to `node -e 0` in start-up time.

const argv = process.argv.slice(2);
const interrupts = new Interrupts(process.stderr);

function buildProgram(): Command {
  const program = new Command('kola')
    .description('boot OS images on a platform, test them over SSH, collect their logs, clean up')
    .version(kolaVersion, '--version', 'print the version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
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
      .option(
        '--tag <tag>',
        'only tests with this tag (repeatable)',
        (v: string, p: string[]) => [...p, v],
        [],
      )
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
    process.exitCode = await runCommand(patterns, opts, { interrupts, argv: process.argv });
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
    process.exitCode = await listCommand(patterns, opts, argv);
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
    process.exitCode = await spawnCommand(opts, { interrupts, argv: process.argv });
  });

  addCommonOptions(
    program
      .command('cleanup')
      .description("destroy every resource a run's ledger still lists as alive")
      .requiredOption('--run <dir>', 'the output directory of the run'),
  ).action(async (opts) => {
    const { cleanupCommand } = await import('./commands/cleanup.js');
    process.exitCode = await cleanupCommand(opts, { interrupts });
  });

  program
    .command('version')
    .description('print the version')
    .action(() => {
      process.stdout.write(`mantle/kola version ${kolaVersion}\n`);
    });
  return program;
}

/** The subcommand named on the command line, if any. */
function subcommandOf(args: string[]): string | undefined {
  return args.find((a) => !a.startsWith('-'));
}

async function main(): Promise<number> {
  const program = buildProgram();
  const sub = subcommandOf(argv);
  if (sub === 'run' || sub === 'spawn' || sub === 'cleanup') {
    const { addPlatformFlags } = await import('./platform-flags.js');
    const command = program.commands.find((c) => c.name() === sub)!;
    await addPlatformFlags(command);
  }
  try {
    await program.parseAsync(process.argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (
        e.code === 'commander.helpDisplayed' ||
        e.code === 'commander.version' ||
        e.code === 'commander.help'
      )
        return 0;
      return 2;
    }
    const { describeFailure } = await import('./failure.js');
    return describeFailure(e, process.stderr);
  }
}

const code = await main();
interrupts.dispose();
process.exit(code);

export type { CommonOptions };
