import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  collect,
  kola,
  ledgerAlive,
  ledgerCreated,
  liveFakeMachines,
  readJson,
  startKola,
  tempDir,
  waitForOutput,
  waitUntil,
} from './helpers.js';

const common = (state: string, out: string) => [
  '-p',
  'fake',
  '--fake-state-dir',
  state,
  '--output-dir',
  out,
  '--ssh-timeout',
  '20s',
];

describe('Ctrl-C, kola cleanup and kola spawn', () => {
  it('SIGINT mid-run aborts running tests, destroys every machine and exits 130', async () => {
    const state = tempDir();
    const out = join(tempDir(), 'out');
    const child = startKola([
      'run',
      'fixture.hang',
      'fixture.slow.*',
      'fixture.cluster',
      '-j',
      '2',
      ...common(state, out),
    ]);
    const done = collect(child);
    await waitUntil(
      () =>
        existsSync(join(out, 'ledger.jsonl')) &&
        liveFakeMachines(state).length >= 2 &&
        ledgerCreated(out) >= 2,
      'two machines',
    );
    child.kill('SIGINT');
    const r = await done;
    expect(r.code).toBe(130);
    expect(r.stderr).toMatch(/SIGINT: stopping tests and destroying machines/);
    expect(liveFakeMachines(state)).toEqual([]);
    expect(ledgerAlive(out)).toEqual([]);
    const rep = readJson<{
      tests: Array<{ name: string; result: string; failure?: { kind: string }; reason?: string }>;
    }>(join(out, 'reports/report.json'));
    const hang = rep.tests.find((t) => t.name === 'fixture.hang')!;
    expect(hang.result).toBe('FAIL');
    expect(hang.failure?.kind).toBe('interrupted');
    // tests that had not started are reported as not run
    expect(rep.tests.some((t) => t.result === 'SKIP' && /interrupted/.test(t.reason ?? ''))).toBe(true);
  });

  it('a second SIGINT exits at once with the cleanup command, and kola cleanup destroys the leftovers', async () => {
    const state = tempDir();
    const out = join(tempDir(), 'out');
    // a slow cloud delete keeps the first interrupt's cleanup busy while we interrupt again
    const child = startKola([
      'run',
      'fixture.hang',
      ...common(state, out),
      '--fake-terminate-delay-ms',
      '20000',
    ]);
    const done = collect(child);
    await waitUntil(
      () => existsSync(join(out, 'ledger.jsonl')) && liveFakeMachines(state).length === 1,
      'the machine',
    );
    const stopping = waitForOutput(child, (t) => t.includes('stopping tests and destroying machines'));
    child.kill('SIGINT');
    await stopping;
    child.kill('SIGINT');
    const r = await done;
    expect(r.code).toBe(130);
    expect(r.stderr).toContain('exiting without cleanup');
    expect(r.stderr).toContain(`kola cleanup --run ${out}`);
    // the machine outlived kola: the ledger still lists it
    expect(liveFakeMachines(state)).toHaveLength(1);
    expect(ledgerAlive(out)).toHaveLength(1);
    const c = await kola(['cleanup', '--run', out, '-p', 'fake', '--fake-state-dir', state]);
    expect(c.code).toBe(0);
    expect(c.stdout).toMatch(/^destroyed fake\/machine\/fake-[0-9a-f]+$/m);
    expect(liveFakeMachines(state)).toEqual([]);
    expect(ledgerAlive(out)).toEqual([]);
  });

  it('--no-remove keeps the machines of failed tests and kola cleanup destroys them', async () => {
    const state = tempDir();
    const out = join(tempDir(), 'out');
    const r = await kola(['run', 'fixture.fail', 'fixture.pass', '--no-remove', ...common(state, out)]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/machines kept for failed tests/);
    expect(r.stdout).toMatch(/fixture\.fail fake-[0-9a-f]+: ssh -i \S+id_ed25519 -p \d+ /);
    expect(r.stdout).toContain(`kola cleanup --run ${out}`);
    // the failed test's machine stays (with its logs collected); the passing one is gone
    expect(liveFakeMachines(state)).toHaveLength(1);
    expect(ledgerAlive(out)).toHaveLength(1);
    const machineDir = readJson<{ tests: Array<{ name: string; machines: Array<{ dir: string }> }> }>(
      join(out, 'reports/report.json'),
    ).tests.find((t) => t.name === 'fixture.fail')!.machines[0]!.dir;
    expect(readFileSync(join(out, machineDir, 'console.txt'), 'utf8').length).toBeGreaterThan(0);

    const c = await kola(['cleanup', '--run', out, '-p', 'fake', '--fake-state-dir', state]);
    expect(c.code).toBe(0);
    expect(c.stdout).toMatch(/^destroyed fake\/machine\/fake-[0-9a-f]+$/m);
    expect(liveFakeMachines(state)).toEqual([]);
    expect(ledgerAlive(out)).toEqual([]);
    const again = await kola(['cleanup', '--run', out, '-p', 'fake', '--fake-state-dir', state]);
    expect(again.stdout).toMatch(/nothing to clean up/);
  });

  it('kola cleanup on a directory without a ledger is a usage error', async () => {
    const r = await kola(['cleanup', '--run', tempDir()]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no ledger at .*ledger\.jsonl/);
  });

  it('kola spawn prints ssh commands, keeps machines until SIGINT, then destroys them', async () => {
    const state = tempDir();
    const out = join(tempDir(), 'out');
    const child = startKola(['spawn', '-c', '2', ...common(state, out)]);
    const done = collect(child);
    await waitForOutput(child, (t) => (t.match(/: ssh -i /g) ?? []).length >= 2);
    expect(liveFakeMachines(state)).toHaveLength(2);
    child.kill('SIGINT');
    const r = await done;
    expect(r.code).toBe(0);
    expect(r.stdout.match(/^fake-[0-9a-f]+ 127\.0\.0\.1: ssh -i \S+ -p \d+ /gm)).toHaveLength(2);
    expect(liveFakeMachines(state)).toEqual([]);
    expect(ledgerAlive(out)).toEqual([]);
  });

  it('kola spawn --detach leaves machines for kola cleanup, with userdata from a file', async () => {
    const state = tempDir();
    const out = join(tempDir(), 'out');
    const ud = join(tempDir(), 'ud.sh');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(ud, '#!/bin/sh\necho "@SSH_KEYS@" > /dev/null\n');
    const r = await kola(['spawn', '--detach', '-u', ud, ...common(state, out)]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`kola cleanup --run ${out}`);
    expect(liveFakeMachines(state)).toHaveLength(1);
    const c = await kola(['cleanup', '--run', out, '-p', 'fake', '--fake-state-dir', state]);
    expect(c.code).toBe(0);
    expect(liveFakeMachines(state)).toEqual([]);
  });

  it('kola spawn rejects invalid Ignition before creating anything', async () => {
    const state = tempDir();
    const out = join(tempDir(), 'out');
    const ud = join(tempDir(), 'bad.ign');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(
      ud,
      JSON.stringify({ ignition: { version: '3.3.0' }, storage: { files: [{ path: 'relative/path' }] } }),
    );
    const r = await kola(['spawn', '-u', ud, ...common(state, out)]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/\$\.storage\.files\[0\]\.path/);
    expect(liveFakeMachines(state)).toEqual([]);
    expect(existsSync(out)).toBe(false);
  });
});

describe('SIGTERM', () => {
  it('is handled like Ctrl-C', async () => {
    const state = tempDir();
    const out = join(tempDir(), 'out');
    const child = startKola(['run', 'fixture.hang', ...common(state, out)]);
    const done = collect(child);
    await waitUntil(
      () => existsSync(join(out, 'ledger.jsonl')) && liveFakeMachines(state).length === 1,
      'the machine',
    );
    child.kill('SIGTERM');
    const r = await done;
    expect(r.code).toBe(130);
    expect(r.stderr).toMatch(/SIGTERM: stopping tests/);
    expect(liveFakeMachines(state)).toEqual([]);
    expect(ledgerAlive(out)).toEqual([]);
  });
});
