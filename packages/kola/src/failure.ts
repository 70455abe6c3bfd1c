import { errorMessage, isMantleError } from '@mantle/cluster';

/** Prints one line for the operator (no stack unless KOLA_DEBUG_STACK) and returns the exit code. */
export function describeFailure(e: unknown, stderr: { write(s: string): unknown }): number {
  stderr.write(`kola: ${errorMessage(e)}\n`);
  if (process.env.KOLA_DEBUG_STACK && e instanceof Error) stderr.write(`${e.stack}\n`);
  if (isMantleError(e)) return e.exitCode;
  return 3;
}
