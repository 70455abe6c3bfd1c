import { join } from 'node:path';
import { type Cluster, errorMessage, type Machine, memorySink } from '@mantle/cluster';
import type { Reporter, TestResult } from './result.js';
import { SkipSignal, type TestContext, type TestDefinition, type TestEnvironment } from './test.js';

/** What a test and all its steps share. */
export interface TestScope {
  test: TestDefinition;
  signal: AbortSignal;
  env: TestEnvironment;
  cluster: Cluster;
  machines: Machine[];
  /** Failed steps, `<step>: <message>`: they fail the test. */
  stepFailures: string[];
  /** Records and reports a finished result (each step's). */
  finish: (r: TestResult) => Promise<void>;
  reporter: Reporter;
}

/** The `t` a test (`name` = the test) or one of its steps (`name` = `<test>/<step>`) runs with. */
export function makeContext(
  scope: TestScope,
  name: string,
  outputDir: string,
  log: TestContext['log'],
): TestContext {
  const { test, signal, env, cluster, machines, reporter } = scope;
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
          await fn(makeContext(scope, full, stepDir, stepLog));
        } catch (e) {
          if (e instanceof SkipSignal) {
            result.status = 'SKIP';
            result.skipReason = e.reason;
          } else {
            result.status = 'FAIL';
            result.failure = { kind: 'fail', message: errorMessage(e) };
            stepLog.error(errorMessage(e));
            stepFailed = true;
            scope.stepFailures.push(`${full}: ${errorMessage(e)}`);
          }
        }
      }
      result.durationMs = Date.now() - begun;
      result.output = capture.text();
      await scope.finish(result);
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
