/**
 * `<out>/test.tap`, TAP version 13. The plan comes first (`1..N`, N = top-level tests selected,
 * skipped ones included), then one numbered line per top-level test in completion order. Failures
 * carry a YAML diagnostic block with the error message, so the TAP file alone says why a test failed
 * (flatcar/mantle#75). The file is rewritten atomically after every test; an interrupted run ends
 * with `Bail out!`, and a run cut short leaves fewer lines than the plan, which TAP consumers report.
 */
import { redact } from '@mantle/cluster';
import { stringify } from 'yaml';
import { AtomicFileWriter } from '../output-dir.js';
import type { Reporter, RunInfo, RunSummary, TestResult } from '../result.js';

/** How many trailing lines of a failed test's output go into its diagnostic block. */
const OUTPUT_TAIL_LINES = 50;

export class TapReporter implements Reporter {
  private plan = 0;
  private count = 0;
  private readonly lines: string[] = [];
  private bailOut: string | undefined;
  private readonly writer: AtomicFileWriter;

  constructor(readonly path: string) {
    this.writer = new AtomicFileWriter(path);
  }

  runStarted(info: RunInfo): Promise<void> {
    this.plan = info.total;
    return this.flush();
  }

  testStarted(_name: string): void {}

  testFinished(result: TestResult): Promise<void> | undefined {
    if (result.parent !== undefined) return undefined;
    this.count++;
    this.lines.push(...formatTapResult(this.count, result));
    return this.flush();
  }

  runFinished(summary: RunSummary): Promise<void> {
    if (summary.interrupted) this.bailOut = 'run interrupted';
    return this.flush();
  }

  private flush(): Promise<void> {
    return this.writer.write(() => {
      let text = `TAP version 13\n1..${this.plan}\n`;
      if (this.lines.length > 0) text += `${this.lines.join('\n')}\n`;
      if (this.bailOut) text += `Bail out! ${this.bailOut}\n`;
      return text;
    });
  }
}

/** `#` and `\` escaped as the TAP spec asks, line breaks flattened. */
export function escapeTapDescription(text: string): string {
  return oneLine(text).replace(/\\/g, '\\\\').replace(/#/g, '\\#');
}

function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' ').trim();
}

/** The TAP lines for one test: the test line and, for failures, an indented YAML block. */
export function formatTapResult(number: number, result: TestResult): string[] {
  const name = escapeTapDescription(result.name);
  if (result.status === 'PASS') return [`ok ${number} - ${name}`];
  if (result.status === 'SKIP') {
    const reason = result.skipReason ? ` ${oneLine(redact(result.skipReason))}` : '';
    return [`ok ${number} - ${name} # SKIP${reason}`];
  }
  const diag: Record<string, unknown> = {
    message: redact(result.failure?.message ?? 'test failed'),
    severity: 'fail',
    kind: result.failure?.kind ?? 'fail',
  };
  if (result.failure?.code) diag.code = result.failure.code;
  diag.duration_ms = Math.round(result.durationMs);
  if (result.machines && result.machines.length > 0) {
    diag.machines = result.machines.map((m) => ({
      id: m.id,
      dir: m.dir,
      ...(m.console ? { console: m.console } : {}),
      ...(m.journal ? { journal: m.journal } : {}),
    }));
  }
  const tail = redact(result.output).replace(/\s+$/, '').split(/\r?\n/).slice(-OUTPUT_TAIL_LINES).join('\n');
  if (tail) diag.output = tail;
  const yaml = stringify(diag, { lineWidth: 0 }).replace(/\n$/, '');
  return [`not ok ${number} - ${name}`, '  ---', ...yaml.split('\n').map((l) => `  ${l}`), '  ...'];
}
