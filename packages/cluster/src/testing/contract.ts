import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Cluster } from '../cluster.js';
import { SshCommandError } from '../errors.js';
import type { Flight } from '../flight.js';
import type { Machine } from '../machine.js';
import type { Platform, PlatformContext } from '../platform.js';
import { createTestContext, type TestContext } from './context.js';

/** What a platform package hands the contract suite: the platform, pointed at its emulator. */
export interface PlatformContractSetup {
  platform: Platform;
  /** The platform's options (parsed with its schema, so defaults may be left out). */
  options: unknown;
  /** Options under which one machine creation of a flight fails; the all-or-nothing test is skipped without. */
  failingOptions?: unknown;
  /** Overrides of the test context (sshTimeoutMs, a dialer, …). */
  context?: Partial<PlatformContext>;
  /** Stops what setup started (emulators). */
  teardown?: () => Promise<void>;
  /** Resources still existing in the emulator/cloud; must be empty once everything is destroyed. */
  listLiveResources?: () => Promise<string[]>;
}

const bootIdCommand = 'cat /proc/sys/kernel/random/boot_id';

function contextFor(setup: PlatformContractSetup): TestContext {
  const base = createTestContext({ sshTimeoutMs: setup.context?.sshTimeoutMs ?? 30_000 });
  return Object.assign(base, setup.context ?? {}, { dispose: base.dispose });
}

function createFlight(setup: PlatformContractSetup, options: unknown, ctx: PlatformContext): Promise<Flight> {
  return setup.platform.createFlight(setup.platform.options.parse(options ?? {}), ctx);
}

/**
 * The behaviour every platform must show against its emulator: machines come up reachable over SSH
 * with kola's key, commands stream and report exit codes, reboots change the boot id, destroy saves
 * logs, is idempotent and leaves nothing behind — and a failed creation leaves nothing either.
 */
export function describePlatformContract(
  name: string,
  setup: () => Promise<PlatformContractSetup>,
  limits: { timeoutMs?: number } = {},
): void {
  // slow platforms (VMs under TCG, image builds) need more than vitest's default per step
  const timeout = limits.timeoutMs;
  describe(`platform contract: ${name}`, () => {
    let s: PlatformContractSetup | undefined;
    let ctx: TestContext | undefined;
    let flight: Flight | undefined;
    let cluster: Cluster | undefined;
    let machines: Machine[] = [];

    const need = <T>(value: T | undefined, what: string): T => {
      if (value === undefined) throw new Error(`an earlier contract step failed: no ${what}`);
      return value;
    };

    beforeAll(async () => {
      s = await setup();
      ctx = contextFor(s);
    }, timeout);

    afterAll(async () => {
      try {
        await flight?.destroy().catch(() => {});
        await ctx?.dispose();
      } finally {
        await s?.teardown?.();
      }
    }, timeout);

    it(
      'creates a flight and a cluster',
      async () => {
        const c = need(ctx, 'context');
        flight = await createFlight(need(s, 'setup'), need(s, 'setup').options, c);
        expect(flight.platform).toBe(need(s, 'setup').platform.name);
        cluster = await flight.newCluster({ outputDir: join(c.outputDir, 'contract'), test: 'contract' });
        expect(flight.clusters).toContain(cluster);
        expect(cluster.outputDir).toBe(join(c.outputDir, 'contract'));
      },
      timeout,
    );

    it(
      'newMachines(2) starts two reachable machines with unique ids and addresses',
      async () => {
        machines = await need(cluster, 'cluster').newMachines(2);
        expect(machines).toHaveLength(2);
        expect(new Set(machines.map((m) => m.id)).size).toBe(2);
        for (const m of machines) {
          expect(m.id).toMatch(/\S/);
          expect(m.ip).toMatch(/\S/);
          expect(m.privateIp).toMatch(/\S/);
          expect(m.sshCommand()).toContain('ssh ');
        }
        expect(need(cluster, 'cluster').machines).toHaveLength(2);
      },
      timeout,
    );

    it(
      'ssh streams output and returns stdout and the exit code',
      async () => {
        for (const m of machines) {
          const chunks: Buffer[] = [];
          const errChunks: Buffer[] = [];
          const r = await m.ssh('echo hello; echo oops >&2', {
            onStdout: (c) => chunks.push(c),
            onStderr: (c) => errChunks.push(c),
          });
          expect(r.stdout).toBe('hello\n');
          expect(r.stderr).toBe('oops\n');
          expect(r.exitCode).toBe(0);
          expect(Buffer.concat(chunks).toString()).toBe('hello\n');
          expect(Buffer.concat(errChunks).toString()).toBe('oops\n');
        }
      },
      timeout,
    );

    it(
      'a failing command throws SshCommandError with its exit code; check:false returns it',
      async () => {
        const m = need(machines[0], 'machine');
        const err = await m.ssh('echo broken >&2; exit 3').then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(SshCommandError);
        expect((err as SshCommandError).exitStatus).toBe(3);
        expect((err as SshCommandError).stderrTail).toContain('broken');
        const r = await m.ssh('exit 3', { check: false });
        expect(r.exitCode).toBe(3);
      },
      timeout,
    );

    it(
      'reboot yields a new boot id and the machine answers again',
      async () => {
        const m = need(machines[0], 'machine');
        const before = (await m.ssh(bootIdCommand)).stdout.trim();
        expect(before).toMatch(/\S/);
        await m.reboot();
        const after = (await m.ssh(bootIdCommand)).stdout.trim();
        expect(after).toMatch(/\S/);
        expect(after).not.toBe(before);
        expect((await m.ssh('echo back')).stdout).toBe('back\n');
      },
      timeout,
    );

    it(
      'cluster destroy saves console, journal and user-data, and is idempotent',
      async () => {
        const c = need(cluster, 'cluster');
        await c.destroy();
        for (const m of machines) {
          for (const file of ['console.txt', 'journal.txt', 'user-data']) {
            expect(existsSync(join(m.outputDir, file)), `${m.id}/${file}`).toBe(true);
          }
        }
        await expect(c.destroy()).resolves.toBeUndefined();
        for (const m of machines) await expect(m.destroy()).resolves.toBeUndefined();
        expect(c.machines).toHaveLength(0);
        expect(need(flight, 'flight').clusters).not.toContain(c);
      },
      timeout,
    );

    it(
      'flight destroy leaves nothing alive',
      async () => {
        const f = need(flight, 'flight');
        await f.destroy();
        await expect(f.destroy()).resolves.toBeUndefined();
        const ledger = need(ctx, 'context').ledger;
        expect(ledger.entries().length).toBeGreaterThanOrEqual(2);
        expect(ledger.alive()).toEqual([]);
        if (s?.listLiveResources) expect(await s.listLiveResources()).toEqual([]);
      },
      timeout,
    );

    it(
      'newMachines(3) with one failing creation destroys everything it made',
      async (t) => {
        const setupResult = need(s, 'setup');
        if (setupResult.failingOptions === undefined) {
          t.skip('the platform cannot inject creation failures');
          return;
        }
        const failCtx = contextFor(setupResult);
        let failFlight: Flight | undefined;
        try {
          failFlight = await createFlight(setupResult, setupResult.failingOptions, failCtx);
          const c = await failFlight.newCluster({ outputDir: join(failCtx.outputDir, 'failing') });
          await expect(c.newMachines(3)).rejects.toThrow();
          expect(c.machines).toEqual([]);
          await failFlight.destroy();
          expect(failCtx.ledger.alive()).toEqual([]);
          if (setupResult.listLiveResources) expect(await setupResult.listLiveResources()).toEqual([]);
        } finally {
          await failFlight?.destroy().catch(() => {});
          await failCtx.dispose();
        }
      },
      timeout,
    );
  });
}
