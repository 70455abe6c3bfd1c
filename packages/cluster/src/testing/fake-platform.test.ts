import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HostKeyMismatchError, PlatformApiError, SshConnectError, TimeoutError } from '../errors.js';
import type { Flight } from '../flight.js';
import { describeOptions, resolveOptions } from '../options.js';
import { UserData } from '../userdata/index.js';
import { createTestContext, type TestContext } from './context.js';
import { describePlatformContract } from './contract.js';
import {
  type FakeOptions,
  fakeCloudMachines,
  fakeOptions,
  fakePlatform,
  restartFakeSshServer,
} from './fake-platform.js';

const contractStateDir = mkdtempSync(join(tmpdir(), 'kola-fake-contract-'));

describePlatformContract('fake', async () => ({
  platform: fakePlatform,
  options: { stateDir: contractStateDir },
  failingOptions: { stateDir: contractStateDir, failCreate: 2 },
  context: { sshTimeoutMs: 5000 },
  listLiveResources: async () => fakeCloudMachines(contractStateDir),
  teardown: async () => rmSync(contractStateDir, { recursive: true, force: true }),
}));

describe('fake platform', () => {
  let stateDir: string;
  let ctx: TestContext;
  let flight: Flight | undefined;

  const options = (o: Partial<FakeOptions> = {}): FakeOptions => fakeOptions.parse({ stateDir, ...o });
  const start = async (o: Partial<FakeOptions> = {}, c: TestContext = ctx) => {
    flight = await fakePlatform.createFlight(options(o), c);
    return flight;
  };

  beforeEach(() => {
    stateDir = mkdtempSync(join(tmpdir(), 'kola-fake-state-'));
    ctx = createTestContext({ sshTimeoutMs: 3000 });
  });

  afterEach(async () => {
    await flight?.destroy().catch(() => {});
    flight = undefined;
    await ctx.dispose();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('describes its options with flags, env vars and defaults', () => {
    const specs = describeOptions('fake', fakeOptions);
    const byKey = Object.fromEntries(specs.map((s) => [s.key, s]));
    expect(byKey.stateDir?.flag).toBe('--fake-state-dir');
    expect(byKey.stateDir?.env).toBe('KOLA_FAKE_STATE_DIR');
    expect(byKey.bootDelayMs).toMatchObject({
      kind: 'number',
      defaultValue: 0,
      flag: '--fake-boot-delay-ms',
    });
    expect(byKey.hostKeyChangeOnReboot?.kind).toBe('boolean');
    for (const s of specs) expect(s.description, s.key).not.toBe('');
    const resolved = resolveOptions('fake', fakeOptions, { env: { KOLA_FAKE_FAIL_CREATE: '2' } });
    expect(resolved.failCreate).toBe(2);
    expect(fakePlatform.properties(options({ bootDelayMs: 5 }))).toEqual({ stateDir, bootDelayMs: 5 });
  });

  it('keeps a state file per live machine and records it in the ledger', async () => {
    const f = await start();
    const c = await f.newCluster({ outputDir: join(ctx.outputDir, 't') });
    const m = await c.newMachine();
    expect(m.id).toMatch(/^fake-[0-9a-f]{8}$/);
    expect(fakeCloudMachines(stateDir)).toEqual([m.id]);
    const state = JSON.parse(readFileSync(join(stateDir, 'machines', `${m.id}.json`), 'utf8')) as {
      port: number;
    };
    expect(m.sshCommand()).toContain(`-p ${state.port}`);
    expect(ctx.ledger.alive().map((e) => e.id)).toEqual([m.id]);
    expect((await m.ssh('pwd')).stdout.trim()).toMatch(/kola-fake-/);
    expect((await m.ssh('sudo -n id -u')).exitCode).toBe(0);
    await c.destroy();
    expect(fakeCloudMachines(stateDir)).toEqual([]);
    expect(ctx.ledger.alive()).toEqual([]);
  });

  it('accepts only the keys in the userdata: without them the machine never becomes ready', async () => {
    const f = await start();
    const c = await f.newCluster({ outputDir: join(ctx.outputDir, 't'), noSshKeyInUserData: true });
    const started = Date.now();
    const err = await c.newMachine().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(Date.now() - started).toBeLessThan(4500);
    expect(err instanceof SshConnectError || err instanceof TimeoutError, String(err)).toBe(true);
    expect(c.machines).toEqual([]);
    expect(fakeCloudMachines(stateDir)).toEqual([]);
    expect(ctx.ledger.alive()).toEqual([]);
  });

  it('injects keys into cloud-config and script userdata', async () => {
    const f = await start();
    const c = await f.newCluster({ outputDir: join(ctx.outputDir, 't') });
    const cc = await c.newMachine(UserData.cloudConfig('#cloud-config\nhostname: x\n'));
    expect((await cc.ssh('echo cc')).stdout).toBe('cc\n');
    const script = await c.newMachine(UserData.script('#!/bin/sh\ncat >> keys <<EOF\n@SSH_KEYS@\nEOF\n'));
    expect((await script.ssh('echo script')).stdout).toBe('script\n');
    expect(await cc.consoleOutput()).toContain('cloud-config');
    expect(await script.consoleOutput()).toContain('script');
    expect(readFileSync(join(script.outputDir, 'user-data'), 'utf8')).toContain(ctx.ssh.publicKey);
  });

  it('failCreate makes newMachines(3) fail and leaves nothing behind', async () => {
    const f = await start({ failCreate: 2 });
    const c = await f.newCluster({ outputDir: join(ctx.outputDir, 't') });
    const err = await c.newMachines(3).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PlatformApiError);
    expect(String((err as Error).message)).toContain('fake create machine');
    expect(c.machines).toEqual([]);
    expect(fakeCloudMachines(stateDir)).toEqual([]);
    expect(ctx.ledger.alive()).toEqual([]);
  });

  it('allows a host key change on reboot but not without one', async () => {
    const f = await start({ hostKeyChangeOnReboot: true });
    const c = await f.newCluster({ outputDir: join(ctx.outputDir, 't') });
    const m = await c.newMachine();
    const first = ctx.hostKeys.get(m.id);
    expect(first).toMatch(/^SHA256:/);
    await m.reboot();
    const second = ctx.hostKeys.get(m.id);
    expect(second).toMatch(/^SHA256:/);
    expect(second).not.toBe(first);
    expect((await m.ssh('echo ok')).stdout).toBe('ok\n');

    await restartFakeSshServer(m, { newHostKey: true });
    await expect(m.ssh('echo hijacked')).rejects.toBeInstanceOf(HostKeyMismatchError);
  });

  it('keeps the host key across a restart without a new key', async () => {
    const f = await start();
    const c = await f.newCluster({ outputDir: join(ctx.outputDir, 't') });
    const m = await c.newMachine();
    await restartFakeSshServer(m);
    expect((await m.ssh('echo same')).stdout).toBe('same\n');
  });

  it('boots after bootDelayMs and reboots on the same port with a new boot id', async () => {
    const f = await start({ bootDelayMs: 300 });
    const c = await f.newCluster({ outputDir: join(ctx.outputDir, 't') });
    const started = Date.now();
    const m = await c.newMachine();
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    const before = (await m.ssh('cat /proc/sys/kernel/random/boot_id')).stdout.trim();
    await m.reboot();
    const after = (await m.ssh('cat /proc/sys/kernel/random/boot_id')).stdout.trim();
    expect(after).not.toBe(before);
    const journal = await m.journalOutput();
    expect(journal).toContain(`-- Boot ${before} --`);
    expect(journal).toContain(`-- Boot ${after} --`);
  });

  it('console and journal carry boot lines, commands and the injected texts', async () => {
    const f = await start({
      consoleText: 'Kernel panic - not syncing: injected',
      journalText: 'fake: injected journal line',
    });
    const c = await f.newCluster({ outputDir: join(ctx.outputDir, 't') });
    const m = await c.newMachine();
    await m.ssh('echo journal-me');
    const consoleText = await m.consoleOutput();
    expect(consoleText).toContain('[    0.000000] Linux version fake');
    expect(consoleText).toContain('fake login:');
    expect(consoleText).toContain('userdata: ignition');
    expect(consoleText).toContain('Kernel panic - not syncing: injected');
    const journal = await m.journalOutput();
    expect(journal).toMatch(/sshd\[\d+\]: exec: echo journal-me/);
    expect(journal).toContain('fake: injected journal line');
    await c.destroy();
    expect(readFileSync(join(m.outputDir, 'console.txt'), 'utf8')).toContain('Kernel panic');
    expect(readFileSync(join(m.outputDir, 'journal.txt'), 'utf8')).toContain('exec: echo journal-me');
  });

  it('destroyLedgerEntry removes a leftover state file, also of a machine still running here', async () => {
    const f = await start();
    const c = await f.newCluster({ outputDir: join(ctx.outputDir, 't') });
    const m = await c.newMachine();
    const entry = ctx.ledger.alive()[0]!;
    await fakePlatform.destroyLedgerEntry!(entry, options(), ctx);
    expect(fakeCloudMachines(stateDir)).toEqual([]);
    await expect(m.ssh('true', { connectTimeoutMs: 500 })).rejects.toThrow();

    // a leftover of a killed process: only the state file and home remain
    const home = mkdtempSync(join(tmpdir(), 'kola-fake-fake-deadbeef-'));
    mkdirSync(join(stateDir, 'machines'), { recursive: true });
    const stateFile = join(stateDir, 'machines', 'fake-deadbeef.json');
    writeFileSync(stateFile, JSON.stringify({ id: 'fake-deadbeef', home }));
    expect(fakeCloudMachines(stateDir)).toEqual(['fake-deadbeef']);
    const leftover = {
      platform: 'fake',
      kind: 'machine',
      id: 'fake-deadbeef',
      key: 'fake/machine/fake-deadbeef',
      createdAt: '',
    };
    await fakePlatform.destroyLedgerEntry!(leftover, options(), ctx);
    expect(fakeCloudMachines(stateDir)).toEqual([]);
    expect(existsSync(home)).toBe(false);
    // already gone: still resolves
    await fakePlatform.destroyLedgerEntry!(leftover, options(), ctx);
  });

  it('fakeCloudMachines is empty for a missing state dir', () => {
    expect(fakeCloudMachines(join(stateDir, 'nope'))).toEqual([]);
  });
});
