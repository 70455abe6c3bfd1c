import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CleanupError, PlatformApiError, RollbackError } from './errors.js';
import type { Flight } from './flight.js';
import { createTestContext, type TestContext } from './testing/context.js';
import { type FakeOptions, fakeCloudMachines, fakeOptions, fakePlatform } from './testing/fake-platform.js';

describe('BaseCluster when cleaning up fails', () => {
  let stateDir: string;
  let ctx: TestContext;
  let flight: Flight | undefined;

  const start = async (o: Partial<FakeOptions>, sshTimeoutMs = 5000) => {
    ctx = createTestContext({ sshTimeoutMs });
    flight = await fakePlatform.createFlight(fakeOptions.parse({ stateDir, ...o }), ctx);
    return flight.newCluster({ outputDir: join(ctx.outputDir, 'c') });
  };

  beforeEach(() => {
    stateDir = mkdtempSync(join(tmpdir(), 'kola-cluster-state-'));
  });
  afterEach(async () => {
    await flight?.destroy().catch(() => {}); // what it reports is what the tests check
    flight = undefined;
    const options = fakeOptions.parse({ stateDir });
    for (const entry of ctx.ledger.alive()) await fakePlatform.destroyLedgerEntry?.(entry, options, ctx);
    await ctx.dispose();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('newMachines: one creation fails, another machine cannot be destroyed: the error names both', async () => {
    const cluster = await start({ failCreate: 2, failTerminate: 1 });
    const err = await cluster.newMachines(2).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RollbackError);
    const rollback = err as RollbackError;
    expect(rollback.failure).toBeInstanceOf(PlatformApiError);
    // the failure's code, not "cleanup": the test still fails as the platform's error
    expect(rollback.code).toBe('platform.fake.api');
    const [leaked] = fakeCloudMachines(stateDir);
    expect(leaked).toBeDefined();
    expect(rollback.errors).toHaveLength(1);
    expect(rollback.message).toContain('creation #2 failed as asked');
    expect(rollback.message).toContain(`machine ${leaked} may be left behind`);
    expect(rollback.message).toContain('termination #1 failed as asked');
    // the cluster still holds it, so destroying the cluster reports it again
    expect(cluster.machines.map((m) => m.id)).toEqual([leaked]);
    await expect(cluster.destroy()).rejects.toThrow(`machine ${leaked} may be left behind`);
  });

  it('newMachine: a machine that never answered and cannot be destroyed: the error says so', async () => {
    const cluster = await start({ bootDelayMs: 60_000, failTerminate: 1 }, 300);
    const err = await cluster.newMachine().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RollbackError);
    const [leaked] = fakeCloudMachines(stateDir);
    expect((err as RollbackError).errors).toEqual([expect.any(CleanupError)]);
    expect((err as RollbackError).message).toMatch(
      new RegExp(`; then cleaning up failed: machine ${leaked} may be left behind: .*termination #1`),
    );
  });

  it('newMachines: when every cleanup works the creation failure is thrown as it was', async () => {
    const cluster = await start({ failCreate: 2 });
    const err = await cluster.newMachines(3).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PlatformApiError);
    expect(err).not.toBeInstanceOf(CleanupError);
    expect(fakeCloudMachines(stateDir)).toEqual([]);
  });
});
