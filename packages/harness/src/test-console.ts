import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Machine, MantleError } from '@mantle/cluster';
import { checkConsole } from './console-check.js';
import type { MachineArtifacts, TestFailure } from './result.js';

/**
 * Console checks while a test runs, on platforms that can follow a machine's console: the first line a
 * check matches aborts `signal`, failing the test early instead of at its deadline.
 */
export class LiveConsoleCheck {
  private readonly hit = new AbortController();
  private readonly watching = new AbortController();

  /** `skip`: the test's flags (checks it turns off). */
  constructor(private readonly skip: readonly string[]) {}

  /** Aborted with a MantleError `console-check` on the first finding. */
  get signal(): AbortSignal {
    return this.hit.signal;
  }

  /** Follows `machine`'s console, where it has one to follow (pass as `onMachineCreated`). */
  readonly watch = (machine: Machine): void => {
    if (!machine.watchConsole) return;
    let partial = '';
    machine.watchConsole((text) => {
      const lines = (partial + text).split('\n');
      partial = lines.pop() ?? '';
      const hit = checkConsole(lines.join('\n'), { skip: this.skip })[0];
      if (hit && !this.hit.signal.aborted) {
        this.hit.abort(
          new MantleError(
            'console-check',
            `console check failed: ${hit.description} on machine ${machine.id}: ${hit.line}`,
          ),
        );
      }
    }, this.watching.signal);
  };

  /** Stops following the consoles; the failure if a check matched. */
  stop(): TestFailure | undefined {
    this.watching.abort();
    if (!this.hit.signal.aborted) return undefined;
    return { kind: 'console', message: (this.hit.signal.reason as Error).message, code: 'console-check' };
  }
}

/** What the checks find in the consoles and journals the machines saved, one line per finding. */
export function checkSavedLogs(
  outputDir: string,
  artifacts: MachineArtifacts[],
  skip: readonly string[],
): string[] {
  const found: string[] = [];
  for (const a of artifacts) {
    for (const file of [a.console, a.journal]) {
      if (!file) continue;
      for (const hit of checkConsole(readFileSync(join(outputDir, file), 'utf8'), { skip })) {
        found.push(`${hit.description} on machine ${a.id} (${file}:${hit.lineNumber}): ${hit.line}`);
      }
    }
  }
  return found;
}

/** `failure` with the saved-log findings added (a console failure when there was none). */
export function withSavedLogFindings(
  failure: TestFailure | undefined,
  found: string[],
): TestFailure | undefined {
  if (!found.length) return failure;
  const message = `console check failed: ${found[0]}${found.length > 1 ? ` (and ${found.length - 1} more)` : ''}`;
  return failure ? { ...failure, message: `${failure.message}; ${message}` } : { kind: 'console', message };
}
