import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  abortable,
  type Cluster,
  deadline,
  errorMessage,
  type Logger,
  type Machine,
  memorySink,
  releaseDeadline,
  TimeoutError,
  textFileSink,
} from '@mantle/cluster';
import type { FailureKind, TestFailure, TestResult } from './result.js';
import type { LazyFlight } from './run-flight.js';
import { defaultTestTimeoutMs, type KeptMachine, type RunTestsOptions } from './runner.js';
import { SkipSignal, type TestDefinition, type TestEnvironment } from './test.js';
import { checkSavedLogs, LiveConsoleCheck, withSavedLogFindings } from './test-console.js';
import { makeContext } from './test-context.js';
import { machineArtifacts, tearDownCluster } from './test-teardown.js';

/** What every test of a run shares. */
export interface RunState {
  options: RunTestsOptions;
  /** The run's signal: Ctrl-C, or --max-runtime. */
  signal: AbortSignal;
  flight: LazyFlight;
  /** Records and reports a finished result. */
  finish: (result: TestResult) => Promise<void>;
  kept: KeptMachine[];
  cleanupErrors: string[];
}

/** How far a test got, and how it ended. */
interface Outcome {
  cluster?: Cluster;
  failure?: TestFailure;
  skipReason?: string;
}

/**
 * One test: its own log and deadline, a cluster and machines on the run's flight, its run() and steps,
 * then the cluster destroyed (or kept) and the consoles and journals checked.
 */
export async function runOneTest(test: TestDefinition, run: RunState): Promise<void> {
  const { options } = run;
  const { ctx } = options;
  await options.reporter.testStarted(test.name);
  const started = Date.now();
  const testDir = join(ctx.outputDir, test.name);
  mkdirSync(testDir, { recursive: true });
  const capture = memorySink('info');
  const testLog = textFileSink(join(testDir, 'test.log'), 'debug', ['test']);
  const log = ctx.log.child({ test: test.name }).withSink(capture).withSink(testLog);
  for (const note of options.notes?.[test.name] ?? []) log.notice(note);
  const timeoutMs = options.timeoutMs ?? test.timeoutMs ?? defaultTestTimeoutMs;
  const checkFlags = test.flags ?? [];
  const consoleChecked = !checkFlags.includes('no-console-check');
  const liveConsole = new LiveConsoleCheck(checkFlags);
  const signal = deadline(
    AbortSignal.any([run.signal, liveConsole.signal]),
    timeoutMs,
    `running test ${test.name}`,
  );

  const outcome = await setUpAndRun(test, run, {
    testDir,
    log,
    signal,
    ...(consoleChecked ? { onMachineCreated: liveConsole.watch } : {}),
  });
  let { failure } = outcome;
  const { cluster, skipReason } = outcome;
  failure = liveConsole.stop() ?? failure;
  if (failure) log.error(failure.message);

  const keep = options.keepFailed && failure !== undefined && cluster !== undefined && !ctx.signal.aborted;
  let machines: Machine[] = [];
  if (cluster) {
    const ended = await tearDownCluster(test.name, cluster, keep === true, log);
    machines = ended.machines;
    run.kept.push(...ended.kept);
    run.cleanupErrors.push(...ended.cleanupErrors);
  }

  const artifacts = machineArtifacts(ctx.outputDir, machines);
  if (!skipReason && consoleChecked && failure?.kind !== 'console') {
    const found = checkSavedLogs(ctx.outputDir, artifacts, checkFlags);
    for (const f of found) log.error(`console check: ${f}`);
    failure = withSavedLogFindings(failure, found);
  }
  releaseDeadline(signal);
  testLog.close();

  const result: TestResult = {
    name: test.name,
    status: failure ? 'FAIL' : skipReason ? 'SKIP' : 'PASS',
    durationMs: Date.now() - started,
    output: capture.text(),
    machines: artifacts,
  };
  if (failure) result.failure = failure;
  else if (skipReason) result.skipReason = skipReason;
  await run.finish(result);
}

/** Gets the flight, asks the test whether to skip, makes its cluster and machines, and runs it. */
async function setUpAndRun(
  test: TestDefinition,
  run: RunState,
  where: { testDir: string; log: Logger; signal: AbortSignal; onMachineCreated?: (m: Machine) => void },
): Promise<Outcome> {
  const { testDir, log, signal } = where;
  const env: TestEnvironment = { platform: run.options.platform.name, properties: run.flight.properties };
  const outcome: Outcome = {};
  let phase: 'setup' | 'run' = 'setup';
  const stepFailures: string[] = [];
  try {
    const flight = await abortable(run.flight.get(), signal, 'creating the flight');
    env.properties = run.flight.properties;
    outcome.skipReason = test.skip?.(env);
    if (outcome.skipReason) return outcome;
    const userData = typeof test.userData === 'function' ? test.userData(env) : test.userData;
    const cluster = await flight.newCluster({
      outputDir: testDir,
      test: test.name,
      signal,
      noSshKeyInUserData: test.flags?.includes('no-ssh-key-in-userdata') ?? false,
      noSshKeyInMetadata: test.flags?.includes('no-ssh-key-in-metadata') ?? false,
      ...(where.onMachineCreated ? { onMachineCreated: where.onMachineCreated } : {}),
    });
    outcome.cluster = cluster;
    const size = test.clusterSize ?? 1;
    const machines = size > 0 ? await cluster.newMachines(size, userData, { signal }) : [];
    phase = 'run';
    const scope = {
      test,
      signal,
      env,
      cluster,
      machines,
      stepFailures,
      finish: run.finish,
      reporter: run.options.reporter,
    };
    await abortable(
      test.run(makeContext(scope, test.name, testDir, log)),
      signal,
      `running test ${test.name}`,
    );
  } catch (e) {
    if (e instanceof SkipSignal) outcome.skipReason = e.reason;
    else outcome.failure = classify(e, signal, run.signal, phase);
  }
  if (!outcome.failure && !outcome.skipReason && stepFailures.length) {
    outcome.failure = { kind: 'fail', message: stepFailures.join('; ') };
  }
  return outcome;
}

function classify(
  e: unknown,
  testSignal: AbortSignal,
  runSignal: AbortSignal,
  phase: 'setup' | 'run',
): TestFailure {
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
