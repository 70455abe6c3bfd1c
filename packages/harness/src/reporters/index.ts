import { join } from 'node:path';
import type { Reporter, RunInfo, RunSummary, TestResult } from '../result.js';
import { JsonReporter } from './json.js';
import { JunitReporter } from './junit.js';
import { TapReporter } from './tap.js';

export { ConsoleReporter, type ConsoleReporterOptions, type WritableText } from './console.js';
export { type JsonReport, JsonReporter, type JsonReportTest, toJsonTest } from './json.js';
export { escapeXmlAttr, escapeXmlText, JunitReporter, junitClassname, sanitizeXmlText } from './junit.js';
export { escapeTapDescription, formatTapResult, TapReporter } from './tap.js';

/** The files mantle users expect: `<dir>/test.tap`, `<dir>/reports/report.json`, plus `reports/junit.xml`. */
export function createFileReporters(outputDir: string): Reporter[] {
  return [
    new TapReporter(join(outputDir, 'test.tap')),
    new JsonReporter(join(outputDir, 'reports', 'report.json')),
    new JunitReporter(join(outputDir, 'reports', 'junit.xml')),
  ];
}

/**
 * One Reporter that calls each of `reporters` in turn, awaiting each. Every reporter is called even if
 * an earlier one throws (a full disk must not silence the console); the first error is rethrown
 * afterwards, or an AggregateError when several failed.
 */
export function multiReporter(reporters: readonly Reporter[]): Reporter {
  const fan = async (call: (r: Reporter) => void | Promise<void>): Promise<void> => {
    const errors: unknown[] = [];
    for (const r of reporters) {
      try {
        await call(r);
      } catch (e) {
        errors.push(e);
      }
    }
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, `${errors.length} reporters failed`);
  };
  return {
    runStarted: (info: RunInfo) => fan((r) => r.runStarted(info)),
    testStarted: (name: string) => fan((r) => r.testStarted(name)),
    testFinished: (result: TestResult) => fan((r) => r.testFinished(result)),
    runFinished: (summary: RunSummary) => fan((r) => r.runFinished(summary)),
  };
}
