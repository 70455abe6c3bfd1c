/**
 * `<out>/reports/report.json`, mantle's JSON report (CL:harness/reporters/json.go), which tools such
 * as coreos-assembler's `kola-junit` and `kola rerun` read:
 *
 * ```json
 * {"tests":[{"name":"basic.ssh","result":"PASS","duration":1234000000,"output":"..."}],
 *  "result":"PASS","platform":"qemu","version":""}
 * ```
 *
 * `duration` is integer nanoseconds (Go's time.Duration); subtests are their own entries named
 * `parent/child`, in completion order. Added, without changing mantle's fields: per test `reason`
 * (skips), `failure` {kind, message, code}, `machines` and `parent`; at the top level `interrupted`
 * and `finished`. The file is rewritten atomically after every test. While the run is going,
 * `finished` is false and `result` is "FAIL" once a test failed, "" before that.
 */
import { redact } from '@mantle/cluster';
import { AtomicFileWriter } from '../output-dir.js';
import type { Reporter, RunInfo, RunSummary, TestResult } from '../result.js';

export interface JsonReportTest {
  name: string;
  result: 'PASS' | 'FAIL' | 'SKIP';
  /** Nanoseconds. */
  duration: number;
  output: string;
  reason?: string;
  failure?: { kind: string; message: string; code?: string };
  machines?: Array<{ id: string; dir: string; console?: string; journal?: string }>;
  parent?: string;
}

export interface JsonReport {
  tests: JsonReportTest[];
  result: 'PASS' | 'FAIL' | '';
  platform: string;
  version: string;
  interrupted: boolean;
  finished: boolean;
}

export class JsonReporter implements Reporter {
  private readonly report: JsonReport = {
    tests: [],
    result: '',
    platform: '',
    version: '',
    interrupted: false,
    finished: false,
  };
  private readonly writer: AtomicFileWriter;

  constructor(readonly path: string) {
    this.writer = new AtomicFileWriter(path);
  }

  runStarted(info: RunInfo): Promise<void> {
    this.report.platform = info.platform;
    this.report.version = info.version;
    return this.flush();
  }

  testStarted(_name: string): void {}

  testFinished(result: TestResult): Promise<void> {
    this.report.tests.push(toJsonTest(result));
    if (result.status === 'FAIL') this.report.result = 'FAIL';
    return this.flush();
  }

  runFinished(summary: RunSummary): Promise<void> {
    this.report.platform = summary.platform;
    this.report.version = summary.version;
    this.report.interrupted = summary.interrupted ?? false;
    this.report.result = summary.interrupted ? 'FAIL' : summary.status;
    this.report.finished = true;
    return this.flush();
  }

  private flush(): Promise<void> {
    return this.writer.write(() => `${JSON.stringify(this.report, null, 2)}\n`);
  }
}

export function toJsonTest(result: TestResult): JsonReportTest {
  const test: JsonReportTest = {
    name: result.name,
    result: result.status,
    duration: Math.round(result.durationMs * 1e6),
    output: redact(result.output),
  };
  if (result.skipReason !== undefined) test.reason = redact(result.skipReason);
  if (result.failure) {
    test.failure = { kind: result.failure.kind, message: redact(result.failure.message) };
    if (result.failure.code) test.failure.code = result.failure.code;
  }
  if (result.machines && result.machines.length > 0) test.machines = result.machines.map((m) => ({ ...m }));
  if (result.parent !== undefined) test.parent = result.parent;
  return test;
}
