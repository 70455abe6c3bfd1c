import {
  deadline,
  type Flight,
  type Platform,
  type PlatformContext,
  type PlatformOptionsSchema,
  releaseDeadline,
  TimeoutError,
} from '@mantle/cluster';
import type { z } from 'zod';
import type { Reporter, RunSummary, TestResult } from './result.js';
import { LazyFlight } from './run-flight.js';
import { type RunState, runOneTest } from './run-one-test.js';
import type { TestDefinition } from './test.js';

export const defaultTestTimeoutMs = 10 * 60_000;

/**
 * `S` pairs the platform with its options: `platformOptions` is what that platform's schema
 * resolved, so the runner hands them to it without a cast.
 */
export interface RunTestsOptions<S extends PlatformOptionsSchema = PlatformOptionsSchema> {
  tests: TestDefinition[];
  /** Tests not run, with the reason (denylist, platform); reported as SKIP. */
  skipped?: Array<{ test: TestDefinition; reason: string }>;
  platform: Platform<S>;
  platformOptions: z.output<S>;
  ctx: PlatformContext;
  reporter: Reporter;
  parallel?: number;
  /** Overrides every test's own timeout (--timeout). */
  timeoutMs?: number;
  /** Limit for the whole run (--max-runtime); tests still running then fail as timed out. */
  maxRuntimeMs?: number;
  /** --no-remove: keep the machines of failed tests. */
  keepFailed?: boolean;
  version?: string;
  /** Notes written at the start of a test's log (e.g. "denylist snooze expired"), by test name. */
  notes?: Record<string, string[]>;
  /** Called once the flight exists, with the platform's resolved properties. */
  onFlight?: (flight: Flight, properties: Record<string, unknown>) => void | Promise<void>;
}

export interface KeptMachine {
  test: string;
  id: string;
  sshCommand: string;
}

export interface RunTestsResult extends RunSummary {
  /** Machines left running by --no-remove. */
  kept: KeptMachine[];
  /**
   * What may be left behind: flight or cluster teardown errors, each naming the resource (reported,
   * never instead of a result; also logged).
   */
  cleanupErrors: string[];
}

/**
 * Runs tests on one flight with at most `parallel` at a time. Each test gets its own cluster, a
 * deadline, a log, and console/journal checks after its machines are destroyed (run-one-test.ts).
 * Abort (Ctrl-C) or --max-runtime: no new test starts, running tests are aborted, everything is
 * destroyed. Whatever could not be destroyed is in `cleanupErrors` and the log.
 */
export async function runTests<S extends PlatformOptionsSchema>(
  options: RunTestsOptions<S>,
): Promise<RunTestsResult> {
  const { ctx, reporter, platform } = options;
  const started = Date.now();
  const runSignal = options.maxRuntimeMs
    ? deadline(ctx.signal, options.maxRuntimeMs, 'the whole run (--max-runtime)')
    : ctx.signal;
  const results: TestResult[] = [];
  const total = options.tests.length + (options.skipped?.length ?? 0);
  await reporter.runStarted({
    platform: platform.name,
    version: options.version ?? '',
    outputDir: ctx.outputDir,
    total,
    startedAt: new Date(started),
  });

  const run: RunState = {
    options,
    signal: runSignal,
    flight: new LazyFlight(options),
    finish: async (result) => {
      results.push(result);
      await reporter.testFinished(result);
    },
    kept: [],
    cleanupErrors: [],
  };

  for (const { test, reason } of options.skipped ?? []) {
    await reporter.testStarted(test.name);
    await run.finish({ name: test.name, status: 'SKIP', durationMs: 0, output: '', skipReason: reason });
  }

  const queue = [...options.tests];
  const worker = async () => {
    for (let test = queue.shift(); test; test = queue.shift()) {
      if (runSignal.aborted) {
        await reporter.testStarted(test.name);
        await run.finish({
          name: test.name,
          status: 'SKIP',
          durationMs: 0,
          output: '',
          skipReason: notRunReason(runSignal),
        });
        continue;
      }
      await runOneTest(test, run);
    }
  };
  const workers = Math.max(1, Math.min(options.parallel ?? 1, options.tests.length || 1));
  await Promise.all(Array.from({ length: workers }, worker));

  // a flight that failed to start was already reported by every test that needed it
  const creationReported = results.some((r) => r.failure?.kind === 'infrastructure');
  run.cleanupErrors.push(...(await run.flight.destroy(run.kept.length > 0, creationReported)));

  const topLevel = results.filter((r) => !r.parent);
  const summary: RunTestsResult = {
    platform: platform.name,
    version: options.version ?? '',
    outputDir: ctx.outputDir,
    total,
    startedAt: new Date(started),
    results,
    status: topLevel.length === 0 ? '' : topLevel.some((r) => r.status === 'FAIL') ? 'FAIL' : 'PASS',
    durationMs: Date.now() - started,
    kept: run.kept,
    cleanupErrors: run.cleanupErrors,
  };
  if (ctx.signal.aborted) summary.interrupted = true;
  if (runSignal !== ctx.signal) releaseDeadline(runSignal);
  await reporter.runFinished(summary);
  return summary;
}

function notRunReason(signal: AbortSignal): string {
  return signal.reason instanceof TimeoutError
    ? 'not run: --max-runtime reached'
    : 'not run: the run was interrupted';
}
