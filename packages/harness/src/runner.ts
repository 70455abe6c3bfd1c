import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import {
  abortable,
  type Cluster,
  deadline,
  errorMessage,
  type Flight,
  type Machine,
  MantleError,
  memorySink,
  type Platform,
  type PlatformContext,
  releaseDeadline,
  TimeoutError,
  textFileSink,
} from '@mantle/cluster';
import { checkConsole } from './console-check.js';
import type { FailureKind, MachineArtifacts, Reporter, RunSummary, TestResult } from './result.js';
import { SkipSignal, type TestContext, type TestDefinition, type TestEnvironment } from './test.js';

export const defaultTestTimeoutMs = 10 * 60_000;

export interface RunTestsOptions {
  tests: TestDefinition[];
  /** Tests not run, with the reason (denylist, platform); reported as SKIP. */
  skipped?: Array<{ test: TestDefinition; reason: string }>;
  platform: Platform;
  platformOptions: unknown;
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
  /** Flight or cluster teardown errors (reported, never instead of a result). */
  cleanupErrors: string[];
}

/**
 * Runs tests on one flight with at most `parallel` at a time. Each test gets its own cluster, a
 * deadline, a log, and console/journal checks after its machines are destroyed. Abort (Ctrl-C) or
 * --max-runtime: no new test starts, running tests are aborted, everything is destroyed.
 */
export async function runTests(options: RunTestsOptions): Promise<RunTestsResult> {
  const { ctx, reporter, platform } = options;
  const started = Date.now();
  const runSignal = options.maxRuntimeMs
    ? deadline(ctx.signal, options.maxRuntimeMs, 'the whole run (--max-runtime)')
    : ctx.signal;
  const results: TestResult[] = [];
  const kept: KeptMachine[] = [];
  const cleanupErrors: string[] = [];
  const total = options.tests.length + (options.skipped?.length ?? 0);
  await reporter.runStarted({
    platform: platform.name,
    version: options.version ?? '',
    outputDir: ctx.outputDir,
    total,
    startedAt: new Date(started),
  });

  const finish = async (result: TestResult) => {
    results.push(result);
    await reporter.testFinished(result);
  };

  for (const { test, reason } of options.skipped ?? []) {
    await reporter.testStarted(test.name);
    await finish({ name: test.name, status: 'SKIP', durationMs: 0, output: '', skipReason: reason });
  }

  let properties: Record<string, unknown> = {};
  let flightPromise: Promise<Flight> | undefined;
  const getFlight = () => {
    flightPromise ??= (async () => {
      const flight = await platform.createFlight(options.platformOptions as never, ctx);
      properties = platform.properties(options.platformOptions as never);
      await options.onFlight?.(flight, properties);
      return flight;
    })();
    return flightPromise;
  };

  const queue = [...options.tests];
  const worker = async () => {
    for (let test = queue.shift(); test; test = queue.shift()) {
      if (runSignal.aborted) {
        await reporter.testStarted(test.name);
        await finish({
          name: test.name,
          status: 'SKIP',
          durationMs: 0,
          output: '',
          skipReason: notRunReason(runSignal),
        });
        continue;
      }
      await runOne(test);
    }
  };

  const runOne = async (test: TestDefinition) => {
    await reporter.testStarted(test.name);
    const testStarted = Date.now();
    const testDir = join(ctx.outputDir, test.name);
    mkdirSync(testDir, { recursive: true });
    const capture = memorySink('info');
    const testLog = textFileSink(join(testDir, 'test.log'), 'debug', ['test']);
    const log = ctx.log.child({ test: test.name }).withSink(capture).withSink(testLog);
    for (const note of options.notes?.[test.name] ?? []) log.notice(note);
    const timeoutMs = options.timeoutMs ?? test.timeoutMs ?? defaultTestTimeoutMs;
    // console checks also run live on platforms that can follow the console, failing the test early
    const consoleAbort = new AbortController();
    const watching = new AbortController();
    const signal = deadline(
      AbortSignal.any([runSignal, consoleAbort.signal]),
      timeoutMs,
      `running test ${test.name}`,
    );
    const consoleChecked = !test.flags?.includes('no-console-check');
    const watchMachine = (machine: Machine) => {
      if (!machine.watchConsole || !consoleChecked) return;
      let partial = '';
      machine.watchConsole((text) => {
        const lines = (partial + text).split('\n');
        partial = lines.pop() ?? '';
        const hit = checkConsole(lines.join('\n'), { skip: test.flags ?? [] })[0];
        if (hit && !consoleAbort.signal.aborted) {
          consoleAbort.abort(
            new MantleError(
              'console-check',
              `console check failed: ${hit.description} on machine ${machine.id}: ${hit.line}`,
            ),
          );
        }
      }, watching.signal);
    };
    const env: TestEnvironment = { platform: platform.name, properties };
    let cluster: Cluster | undefined;
    let machines: Machine[] = [];
    let failure: TestResult['failure'];
    let skipReason: string | undefined;
    let phase: 'setup' | 'run' = 'setup';
    const stepFailures: string[] = [];

    try {
      const flight = await abortable(getFlight(), signal, 'creating the flight');
      env.properties = properties;
      skipReason = test.skip?.(env);
      if (!skipReason) {
        const userData = typeof test.userData === 'function' ? test.userData(env) : test.userData;
        cluster = await flight.newCluster({
          outputDir: testDir,
          test: test.name,
          signal,
          noSshKeyInUserData: test.flags?.includes('no-ssh-key-in-userdata') ?? false,
          noSshKeyInMetadata: test.flags?.includes('no-ssh-key-in-metadata') ?? false,
          onMachineCreated: watchMachine,
        });
        const size = test.clusterSize ?? 1;
        if (size > 0) machines = await cluster.newMachines(size, userData, { signal });
        phase = 'run';
        const t = makeContext(
          test,
          test.name,
          testDir,
          log,
          signal,
          env,
          cluster,
          machines,
          stepFailures,
          finish,
          reporter,
        );
        await abortable(test.run(t), signal, `running test ${test.name}`);
      }
    } catch (e) {
      if (e instanceof SkipSignal) skipReason = e.reason;
      else failure = classify(e, signal, runSignal, phase);
    }
    watching.abort();
    if (consoleAbort.signal.aborted) {
      failure = {
        kind: 'console',
        message: (consoleAbort.signal.reason as Error).message,
        code: 'console-check',
      };
    }
    if (!failure && !skipReason && stepFailures.length) {
      failure = { kind: 'fail', message: stepFailures.join('; ') };
    }
    if (failure) log.error(failure.message);

    const keep = options.keepFailed && failure !== undefined && cluster !== undefined && !ctx.signal.aborted;
    const testMachines = cluster ? [...cluster.machines] : [];
    if (cluster) {
      if (keep) {
        for (const m of testMachines) {
          await m.collectLogs().catch(() => {});
          kept.push({ test: test.name, id: m.id, sshCommand: m.sshCommand() });
        }
      } else {
        try {
          await cluster.destroy();
        } catch (e) {
          const message = `cleanup of test ${test.name} failed: ${errorMessage(e)}`;
          cleanupErrors.push(message);
          log.error(message);
        }
      }
    }

    const artifacts = machineArtifacts(
      ctx.outputDir,
      testMachines.map((m) => m.outputDir),
    );
    if (!skipReason && consoleChecked && failure?.kind !== 'console') {
      const skipChecks = test.flags ?? [];
      const found: string[] = [];
      for (const a of artifacts) {
        for (const file of [a.console, a.journal]) {
          if (!file) continue;
          for (const hit of checkConsole(readFileSync(join(ctx.outputDir, file), 'utf8'), {
            skip: skipChecks,
          })) {
            found.push(`${hit.description} on machine ${a.id} (${file}:${hit.lineNumber}): ${hit.line}`);
          }
        }
      }
      if (found.length) {
        for (const f of found) log.error(`console check: ${f}`);
        const message = `console check failed: ${found[0]}${found.length > 1 ? ` (and ${found.length - 1} more)` : ''}`;
        failure = failure
          ? { ...failure, message: `${failure.message}; ${message}` }
          : { kind: 'console', message };
      }
    }
    releaseDeadline(signal);
    testLog.close();

    const result: TestResult = {
      name: test.name,
      status: failure ? 'FAIL' : skipReason ? 'SKIP' : 'PASS',
      durationMs: Date.now() - testStarted,
      output: capture.text(),
      machines: artifacts,
    };
    if (failure) result.failure = failure;
    else if (skipReason) result.skipReason = skipReason;
    await finish(result);
  };

  const workers = Math.max(1, Math.min(options.parallel ?? 1, options.tests.length || 1));
  await Promise.all(Array.from({ length: workers }, worker));

  if (flightPromise) {
    try {
      const flight = await flightPromise;
      if (!kept.length) await flight.destroy();
    } catch (e) {
      // a flight that failed to start was already reported by every test
      if (!results.some((r) => r.failure?.kind === 'infrastructure'))
        cleanupErrors.push(`flight cleanup: ${errorMessage(e)}`);
    }
  }

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
    kept,
    cleanupErrors,
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

function classify(
  e: unknown,
  testSignal: AbortSignal,
  runSignal: AbortSignal,
  phase: 'setup' | 'run',
): TestResult['failure'] {
  let kind: FailureKind;
  let message = errorMessage(e);
  if (testSignal.aborted && testSignal.reason instanceof TimeoutError) {
    kind = 'timeout';
    message = testSignal.reason.message;
  } else if (runSignal.aborted) {
    kind = runSignal.reason instanceof TimeoutError ? 'timeout' : 'interrupted';
    message = runSignal.reason instanceof TimeoutError ? runSignal.reason.message : 'interrupted';
  } else {
    kind = phase === 'setup' ? 'infrastructure' : 'fail';
  }
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string' ? { kind, message, code } : { kind, message };
}

function machineArtifacts(outputDir: string, dirs: string[]): MachineArtifacts[] {
  return dirs.map((dir) => {
    const rel = relative(outputDir, dir);
    const a: MachineArtifacts = { id: dir.split('/').pop() ?? rel, dir: rel };
    if (existsSync(join(dir, 'console.txt'))) a.console = join(rel, 'console.txt');
    if (existsSync(join(dir, 'journal.txt'))) a.journal = join(rel, 'journal.txt');
    return a;
  });
}

function makeContext(
  test: TestDefinition,
  name: string,
  outputDir: string,
  log: TestContext['log'],
  signal: AbortSignal,
  env: TestEnvironment,
  cluster: Cluster,
  machines: Machine[],
  failures: string[],
  finish: (r: TestResult) => Promise<void>,
  reporter: Reporter,
): TestContext {
  let stepFailed = false;
  const t: TestContext = {
    name,
    platform: env.platform,
    env,
    cluster,
    machines,
    signal,
    outputDir,
    log,
    async ssh(machine, command, options = {}) {
      const r = await machine.ssh(command, {
        signal,
        ...options,
        onStderr: (chunk) => {
          for (const line of chunk.toString().split('\n'))
            if (line.trim()) log.info(`${machine.id} stderr: ${line}`);
          options.onStderr?.(chunk);
        },
      });
      return r.stdout.trim();
    },
    async step(stepName, fn) {
      const full = `${name}/${stepName.replace(/\s+/g, '_')}`;
      await reporter.testStarted(full);
      const begun = Date.now();
      const capture = memorySink('info');
      const stepLog = log.child({ step: stepName }).withSink(capture);
      const stepDir = join(outputDir, stepName.replace(/[\s/]+/g, '_'));
      const result: TestResult = { name: full, parent: name, status: 'PASS', durationMs: 0, output: '' };
      if (test.failFast && stepFailed) {
        result.status = 'SKIP';
        result.skipReason = 'A previous test has already failed';
      } else {
        try {
          await fn(
            makeContext(
              test,
              full,
              stepDir,
              stepLog,
              signal,
              env,
              cluster,
              machines,
              failures,
              finish,
              reporter,
            ),
          );
        } catch (e) {
          if (e instanceof SkipSignal) {
            result.status = 'SKIP';
            result.skipReason = e.reason;
          } else {
            result.status = 'FAIL';
            result.failure = { kind: 'fail', message: errorMessage(e) };
            stepLog.error(errorMessage(e));
            stepFailed = true;
            failures.push(`${full}: ${errorMessage(e)}`);
          }
        }
      }
      result.durationMs = Date.now() - begun;
      result.output = capture.text();
      await finish(result);
      // a timeout or Ctrl-C ends the whole test, not just the step
      signal.throwIfAborted();
      return result.status !== 'FAIL';
    },
    skip(reason) {
      throw new SkipSignal(reason);
    },
    fail(message) {
      throw new Error(message);
    },
  };
  return t;
}
