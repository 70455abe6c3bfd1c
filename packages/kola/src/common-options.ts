import type { LogFlags } from '@mantle/cli';
import type { Command } from 'commander';

/** Options every kola subcommand accepts (mantle's persistent flags). */
export function addCommonOptions(command: Command): Command {
  return command
    .option('-p, --platform <name>', 'platform to run on', 'qemu')
    .option('--output-dir <dir>', 'output directory (default: _kola_temp/<platform>-<stamp>-<pid>)')
    .option('--basename <name>', 'prefix of flight, cluster and machine names', 'kola')
    .option('--key <file>', 'authorize this public key file on machines too (repeatable)', collect, [])
    .option('--ssh-user <user>', 'user to log in as', 'core')
    .option('--ssh-timeout <duration>', 'how long to keep trying to reach a new machine over SSH', '5m');
}

export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Options every kola subcommand accepts (mantle's persistent flags). -v/-d/--log-level too. */
export interface CommonOptions extends LogFlags {
  platform: string;
  outputDir?: string;
  basename: string;
  key: string[];
  sshUser: string;
  sshTimeout: string;
}
