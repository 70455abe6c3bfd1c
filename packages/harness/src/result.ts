/**
 * The result model shared by the runner and every reporter. A test (and each of its subtests, named
 * `parent/child`) ends as exactly one TestResult; reporters see them in completion order, subtests
 * before their parent.
 */

export type TestStatus = 'PASS' | 'FAIL' | 'SKIP';

/**
 * Why a test failed: `fail` (an assertion or test error), `timeout` (its deadline passed), `console`
 * (a console/journal check matched), `infrastructure` (the platform could not give it machines),
 * `interrupted` (Ctrl-C / SIGTERM stopped it).
 */
export type FailureKind = 'fail' | 'timeout' | 'console' | 'infrastructure' | 'interrupted';

/** Where a machine's collected files are. Paths are relative to the run output dir. */
export interface MachineArtifacts {
  id: string;
  dir: string;
  console?: string;
  journal?: string;
}

export interface TestFailure {
  kind: FailureKind;
  message: string;
  /** A MantleError code such as `timeout` or `ssh.command`, when there is one. */
  code?: string;
}

export interface TestResult {
  /** Subtests are their own results, named 'parent/child'. */
  name: string;
  status: TestStatus;
  durationMs: number;
  /** The test's captured log text. */
  output: string;
  skipReason?: string;
  failure?: TestFailure;
  machines?: MachineArtifacts[];
  /** Set on subtests: the full name of the parent test. */
  parent?: string;
}

export interface RunInfo {
  platform: string;
  version: string;
  outputDir: string;
  /** Number of top-level tests selected, including the ones that will be reported as skipped. */
  total: number;
  startedAt: Date;
}

export interface RunSummary extends RunInfo {
  results: TestResult[];
  /** '' when no test ran (mantle's "no tests to run"). */
  status: 'PASS' | 'FAIL' | '';
  durationMs: number;
  interrupted?: boolean;
}

export interface Reporter {
  runStarted(info: RunInfo): void | Promise<void>;
  testStarted(name: string): void | Promise<void>;
  /** Called for subtests too, before their parent. */
  testFinished(result: TestResult): void | Promise<void>;
  runFinished(summary: RunSummary): void | Promise<void>;
}

export interface ResultCounts {
  passed: number;
  failed: number;
  skipped: number;
  total: number;
}

/** True for a result that is not a subtest. */
export function isTopLevel(result: TestResult): boolean {
  return result.parent === undefined;
}

/** Counts results by status; by default only top-level tests are counted. */
export function countResults(
  results: readonly TestResult[],
  options: { subtests?: boolean } = {},
): ResultCounts {
  const counts: ResultCounts = { passed: 0, failed: 0, skipped: 0, total: 0 };
  for (const r of results) {
    if (!options.subtests && !isTopLevel(r)) continue;
    counts.total++;
    if (r.status === 'PASS') counts.passed++;
    else if (r.status === 'FAIL') counts.failed++;
    else counts.skipped++;
  }
  return counts;
}

/**
 * The run status mantle writes into report.json: '' when no test ran, FAIL when any test (or subtest)
 * failed or the run was interrupted, PASS otherwise (a run where everything was skipped passes).
 */
export function runStatus(results: readonly TestResult[], interrupted = false): 'PASS' | 'FAIL' | '' {
  if (interrupted) return 'FAIL';
  if (results.length === 0) return '';
  return results.some((r) => r.status === 'FAIL') ? 'FAIL' : 'PASS';
}

/** `(12.34s)` style seconds with two decimals, as `go test` and mantle's harness print them. */
export function formatSeconds(ms: number): string {
  return `${(Math.max(0, ms) / 1000).toFixed(2)}s`;
}
