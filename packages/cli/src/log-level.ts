import { type Command, Option } from 'commander';

export type CliLogLevel = 'debug' | 'info' | 'notice' | 'warning' | 'error';
const levels: readonly CliLogLevel[] = ['debug', 'info', 'notice', 'warning', 'error'];

export interface LogFlags {
  verbose?: boolean;
  debug?: boolean;
  logLevel?: string;
}

/** `-v`, `-d` and `--log-level`, as mantle's CLIs have them. */
export function addLogFlags(command: Command): Command {
  return command
    .option('-v, --verbose', 'log at INFO')
    .option('-d, --debug', 'log at DEBUG')
    .addOption(new Option('--log-level <level>', 'log level').choices(levels));
}

/** The one rule: `--log-level` wins, then `-d`, then `-v`; NOTICE otherwise. */
export function logLevelOf(flags: LogFlags): CliLogLevel {
  const given = levels.find((l) => l === flags.logLevel);
  if (given) return given;
  if (flags.debug) return 'debug';
  if (flags.verbose) return 'info';
  return 'notice';
}
