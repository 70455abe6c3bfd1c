import { errorMessage, isMantleError } from '@mantle/cluster/errors';
import { type Command, CommanderError } from 'commander';

/**
 * The one mapping from what a command threw to an exit code and a line for the operator: help and
 * version are 0, commander's usage errors 2 (commander printed them), a MantleError its own code,
 * anything else 3. No stack unless `<PROGRAM>_DEBUG_STACK` is set.
 */
export function exitCodeOf(
  e: unknown,
  program: string,
  stderr: { write(s: string): unknown },
  env: NodeJS.ProcessEnv = process.env,
): number {
  if (e instanceof CommanderError) {
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.help' || e.code === 'commander.version')
      return 0;
    return 2;
  }
  stderr.write(`${program}: ${errorMessage(e)}\n`);
  if (env[`${program.toUpperCase()}_DEBUG_STACK`] && e instanceof Error) stderr.write(`${e.stack}\n`);
  return isMantleError(e) ? e.exitCode : 3;
}

/** commander's exitOverride on every level, so usage errors come back as exceptions. */
export function overrideExitEverywhere(command: Command): void {
  command.exitOverride();
  for (const c of command.commands) overrideExitEverywhere(c);
}
