import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Flight, RollbackError } from '@mantle/cluster';
import {
  createTestContext,
  fakeCloudMachines,
  fakeOptions,
  fakePlatform,
  type TestContext,
} from '@mantle/cluster/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Reporter } from './result.js';
import { type RunTestsOptions, runTests } from './runner.js';
import { defineTest } from './test.js';

const silentReporter: Reporter = {
  runStarted() {},
  testStarted() {},
  testFinished() {},
  runFinished() {},
};

/** The fake platform, with its flights' destroy() replaced by `destroy(theRealOne)`. */
function withFlightDestroy(destroy: (real: () => Promise<void>) => Promise<void>): typeof fakePlatform {
  return {
    ...fakePlatform,
    async createFlight(options, c) {
      const flight = await fakePlatform.createFlight(options, c);
      const real = flight.destroy;
      return Object.assign(flight, { destroy: () => destroy(real) });
    },
  };
}

const passes = defineTest({
  name: 'runner.passes',
  async run(t) {
    await t.ssh(t.machines[0]!, 'true');
  },
});

describe('runTests cleanup reporting', () => {
  let stateDir: string;
  let ctx: TestContext;

  beforeEach(() => {
    stateDir = mkdtempSync(join(tmpdir(), 'kola-runner-state-'));
    ctx = createTestContext({ sshTimeoutMs: 5000 });
  });
  afterEach(async () => {
    // whatever a test left behind on purpose goes the way `kola cleanup` would take it
    const options = fakeOptions.parse({ stateDir });
    for (const entry of ctx.ledger.alive()) await fakePlatform.destroyLedgerEntry?.(entry, options, ctx);
    await ctx.dispose();
    rmSync(stateDir, { recursive: true, force: true });
  });

  const run = (overrides: Partial<RunTestsOptions> & { fake?: Record<string, unknown> } = {}) => {
    const { fake, ...rest } = overrides;
    return runTests({
      tests: [passes],
      platform: fakePlatform,
      platformOptions: fakeOptions.parse({ stateDir, ...fake }),
      ctx,
      reporter: silentReporter,
      ...rest,
    });
  };

  it('a passing test whose machine cannot be terminated: the result and the test log name the machine', async () => {
    const result = await run({ fake: { failTerminate: 1 } });
    expect(result.results.map((r) => [r.name, r.status])).toEqual([['runner.passes', 'PASS']]);
    const [leaked] = fakeCloudMachines(stateDir);
    expect(leaked).toBeDefined();
    expect(result.cleanupErrors).toHaveLength(1);
    expect(result.cleanupErrors[0]).toContain('cleanup of test runner.passes failed');
    expect(result.cleanupErrors[0]).toContain(`machine ${leaked} may be left behind`);
    expect(result.cleanupErrors[0]).toContain('termination #1 failed as asked');
    const testLog = readFileSync(join(ctx.outputDir, 'runner.passes', 'test.log'), 'utf8');
    expect(testLog).toMatch(
      new RegExp(`ERROR cleanup of test runner\\.passes failed: .*machine ${leaked} may be left behind`),
    );
    // the ledger still lists it, so `kola cleanup` can finish the job
    expect(ctx.ledger.alive().map((e) => e.id)).toEqual([leaked]);
  });

  it('a run whose flight cannot be destroyed says so', async () => {
    const result = await run({
      platform: withFlightDestroy(async (destroy) => {
        await destroy();
        throw new Error('network still in use');
      }),
    });
    expect(result.results[0]?.status).toBe('PASS');
    expect(result.cleanupErrors).toEqual(['flight cleanup: network still in use']);
  });

  it('a flight created before onFlight failed is still destroyed', async () => {
    let destroyed = 0;
    const result = await run({
      platform: withFlightDestroy(async (destroy) => {
        destroyed++;
        await destroy();
      }),
      onFlight: () => {
        throw new Error('cannot write properties.json');
      },
    });
    expect(result.results[0]?.failure).toMatchObject({
      kind: 'infrastructure',
      message: 'cannot write properties.json',
    });
    expect(destroyed).toBe(1);
    expect(result.cleanupErrors).toEqual([]);
  });

  it('a flight creation that could not undo its work: the tests fail, and what it left is a cleanup error', async () => {
    const result = await run({
      platform: {
        ...fakePlatform,
        async createFlight(): Promise<Flight> {
          throw new RollbackError(new Error('network quota exceeded'), [
            new Error('key pair kola-x may be left behind: access denied'),
          ]);
        },
      },
    });
    expect(result.results[0]?.failure?.kind).toBe('infrastructure');
    expect(result.results[0]?.failure?.message).toContain('network quota exceeded');
    expect(result.cleanupErrors).toEqual([
      'cleanup after the failed flight creation: key pair kola-x may be left behind: access denied',
    ]);
  });
});
