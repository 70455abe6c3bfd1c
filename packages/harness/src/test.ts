import type { Cluster, Logger, Machine, MachineSshOptions, UserData } from '@mantle/cluster';

/** Flags a test can carry; they change how the harness sets up and checks its machines. */
export type TestFlag =
  /** Don't inject the flight's SSH keys into userdata (the test brings its own access path). */
  | 'no-ssh-key-in-userdata'
  /** Don't register SSH keys in the platform's metadata. */
  | 'no-ssh-key-in-metadata'
  /** Don't fail the test when the console shows an emergency shell. */
  | 'no-emergency-shell-check'
  /** Skip the console/journal checks entirely (negative tests that crash on purpose check themselves). */
  | 'no-console-check'
  /** Needs outbound internet; skipped on platforms without it. */
  | 'requires-internet';

/** What a test's skip() and userData() see about the run. */
export interface TestEnvironment {
  platform: string;
  /** The platform's properties block (image, flavor, accel, …). */
  properties: Record<string, unknown>;
}

export interface TestDefinition {
  /** Unique dotted name: `group.name.sub`. */
  name: string;
  description?: string;
  /** Machines the harness creates before run(); 0 means the test creates its own. Default 1. */
  clusterSize?: number;
  userData?: UserData | ((env: TestEnvironment) => UserData);
  platforms?: { only?: string[]; exclude?: string[] };
  tags?: string[];
  flags?: TestFlag[];
  /** Per-test limit; default 10 minutes, overridden by --timeout. */
  timeoutMs?: number;
  /** Skip subsequent t.step()s after one fails. */
  failFast?: boolean;
  /** Returns a reason to skip on this run, or undefined to run. */
  skip?: (env: TestEnvironment) => string | undefined;
  run: (t: TestContext) => Promise<void>;
}

export interface TestContext {
  readonly name: string;
  readonly platform: string;
  readonly env: TestEnvironment;
  readonly cluster: Cluster;
  readonly machines: readonly Machine[];
  /** Aborted on timeout, Ctrl-C or --max-runtime. Pass it to everything that waits. */
  readonly signal: AbortSignal;
  /** This test's output directory. */
  readonly outputDir: string;
  /** Writes to the test's log (test.log, and the report's output). */
  readonly log: Logger;
  /** Runs a command, logs its stderr, throws on a non-zero exit; returns trimmed stdout. */
  ssh(machine: Machine, command: string, options?: MachineSshOptions): Promise<string>;
  /** Runs a sequential subtest reported as `<test>/<name>`; returns whether it passed. */
  step(name: string, fn: (t: TestContext) => Promise<void>): Promise<boolean>;
  /** Ends the test (or step) as skipped. */
  skip(reason: string): never;
  /** Ends the test (or step) as failed with this message. */
  fail(message: string): never;
}

/** Declares a test; tests are listed explicitly in arrays, never registered by import side effects. */
export function defineTest(test: TestDefinition): TestDefinition {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(test.name)) {
    throw new Error(`test name "${test.name}" may only contain letters, digits, '.', '_' and '-'`);
  }
  if (test.clusterSize !== undefined && (!Number.isInteger(test.clusterSize) || test.clusterSize < 0)) {
    throw new Error(`test ${test.name}: clusterSize must be a whole number ≥ 0`);
  }
  return test;
}

/** Builds the registry from explicit lists; a duplicate name is an error at start-up. */
export function registerTests(...lists: TestDefinition[][]): TestDefinition[] {
  const seen = new Map<string, TestDefinition>();
  for (const test of lists.flat()) {
    if (seen.has(test.name)) throw new Error(`duplicate test name "${test.name}"`);
    seen.set(test.name, test);
  }
  return [...seen.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** Thrown by t.skip(); the runner turns it into a SKIP result. */
export class SkipSignal extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'SkipSignal';
  }
}
