/**
 * Go-test style progress on stdout, as mantle's harness prints it:
 *
 * ```
 * === RUN   basic.ssh
 * --- FAIL: basic.ssh (12.34s)
 *         the test's log lines, indented 8 spaces
 *     --- PASS: basic.ssh/sub (1.00s)
 * FAIL, output in _kola_temp/qemu-2020-05-18-1234-4242
 * ```
 *
 * Subtest results are held back and printed under their parent, 4 more spaces in, when the parent
 * finishes (they finish first). Output is shown for failures, the reason for skips, and everything
 * when verbose.
 */
import { redact } from '@mantle/cluster';
import {
  countResults,
  formatSeconds,
  type Reporter,
  type RunInfo,
  type RunSummary,
  type TestResult,
} from '../result.js';

export interface ConsoleReporterOptions {
  verbose?: boolean;
}

export interface WritableText {
  write(chunk: string): unknown;
}

const OUTPUT_INDENT = '        ';
const SUBTEST_INDENT = '    ';

export class ConsoleReporter implements Reporter {
  private readonly verbose: boolean;
  /** Finished subtests' rendered lines, waiting for their parent. */
  private readonly pending = new Map<string, string[][]>();

  constructor(
    private readonly stream: WritableText,
    options: ConsoleReporterOptions = {},
  ) {
    this.verbose = options.verbose ?? false;
  }

  runStarted(_info: RunInfo): void {}

  testStarted(name: string): void {
    this.stream.write(`=== RUN   ${name}\n`);
  }

  testFinished(result: TestResult): void {
    const lines = this.render(result);
    if (result.parent !== undefined) {
      const siblings = this.pending.get(result.parent) ?? [];
      siblings.push(lines);
      this.pending.set(result.parent, siblings);
      return;
    }
    this.stream.write(`${lines.join('\n')}\n`);
  }

  runFinished(summary: RunSummary): void {
    // Subtests whose parent never reported (an interrupted run) are printed on their own.
    for (const blocks of this.pending.values()) {
      for (const block of blocks) this.stream.write(`${block.join('\n')}\n`);
    }
    this.pending.clear();
    const c = countResults(summary.results);
    this.stream.write(
      `${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped of ${summary.total} tests (${formatSeconds(summary.durationMs)})\n`,
    );
    const verdict = summary.interrupted ? 'FAIL (interrupted)' : summary.status === 'PASS' ? 'PASS' : 'FAIL';
    this.stream.write(`${verdict}, output in ${summary.outputDir}\n`);
  }

  private render(result: TestResult): string[] {
    const lines = [`--- ${result.status}: ${result.name} (${formatSeconds(result.durationMs)})`];
    const body: string[] = [];
    if (result.status === 'SKIP') {
      if (result.skipReason) body.push(...splitLines(result.skipReason));
      if (this.verbose) body.push(...splitLines(result.output));
    } else if (result.status === 'FAIL' || this.verbose) {
      body.push(...splitLines(result.output));
      const message = result.failure?.message;
      if (message && !result.output.includes(message)) body.push(...splitLines(message));
    }
    for (const line of body) lines.push(OUTPUT_INDENT + redact(line));
    const children = this.pending.get(result.name);
    if (children) {
      this.pending.delete(result.name);
      for (const block of children) for (const line of block) lines.push(SUBTEST_INDENT + line);
    }
    return lines;
  }
}

function splitLines(text: string): string[] {
  const trimmed = text.replace(/\s+$/, '');
  return trimmed === '' ? [] : trimmed.split(/\r?\n/);
}
