import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const oreMain = resolve(here, 'support/ore.mjs');
const toy = join(here, 'fixtures/toy-platform.mjs');

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function ore(args: string[], env: Record<string, string> = {}): Promise<Result> {
  const child = spawn(process.execPath, [oreMain, ...args], {
    env: { ...process.env, ORE_TEST_PLATFORMS: `toy=${toy}`, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  return new Promise((res) => child.on('close', (code) => res({ code, stdout, stderr })));
}

const hour = 3_600_000;
const now = new Date('2026-11-27T12:00:00Z');
const ago = (h: number) => new Date(now.getTime() - h * hour).toISOString();
const mine = { CreatedBy: 'mantle' };

function toyState(extra: Record<string, unknown> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'ore-toy-'));
  const file = join(dir, 'state.json');
  const resources = [
    { kind: 'toy.box', id: 'box-old', region: 'north', createdAt: ago(6), tags: mine },
    { kind: 'toy.box', id: 'box-young', region: 'north', createdAt: ago(1), tags: mine },
    {
      kind: 'toy.box',
      id: 'box-foreign',
      region: 'north',
      createdAt: ago(50),
      tags: { CreatedBy: 'someone' },
    },
    {
      kind: 'toy.box',
      id: 'box-kept',
      region: 'north',
      createdAt: ago(50),
      tags: { ...mine, 'keep-until': '2027-01-01T00:00:00Z' },
    },
    {
      kind: 'toy.box',
      id: 'box-expired',
      region: 'north',
      createdAt: ago(1),
      tags: { ...mine, 'expires-at': ago(0.5) },
    },
    { kind: 'toy.box', id: 'box-stuck', region: 'north', createdAt: ago(9), tags: mine, failRemove: true },
    { kind: 'toy.box', id: 'box-south', region: 'south', createdAt: ago(9), tags: mine },
    // a shelf holding only a box that goes is free; one holding a young box stays
    { kind: 'toy.shelf', id: 'shelf-freed', region: 'north', tags: mine, on: undefined },
    { kind: 'toy.shelf', id: 'shelf-busy', region: 'north', tags: mine },
  ];
  (resources[0] as Record<string, unknown>).on = 'shelf-freed';
  (resources[1] as Record<string, unknown>).on = 'shelf-busy';
  writeFileSync(file, JSON.stringify({ resources, ...extra }));
  return file;
}

const ids = (file: string) =>
  (JSON.parse(readFileSync(file, 'utf8')) as { resources: Array<{ id: string }> }).resources
    .map((r) => r.id)
    .sort();
const clock = { ORE_TEST_NOW: now.toISOString() };

describe('ore <platform> gc', () => {
  it('plans by default: prints identity, reasons, and deletes nothing', async () => {
    const state = toyState();
    const before = ids(state);
    const r = await ore(['toy', 'gc', '--toy-state', state], clock);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe('toy: account toy-account, arn arn:toy:me');
    expect(r.stdout).toMatch(/plan only/);
    expect(r.stdout).toMatch(/would remove +toy\.box +north +box-old +age 6h0m/);
    expect(r.stdout).toMatch(/kept +toy\.box +north +box-young +younger than 5h/);
    expect(r.stdout).toMatch(/kept +toy\.box +north +box-foreign +not created by this tool/);
    expect(r.stdout).toMatch(/kept +toy\.box +north +box-kept +keep-until 2027-01-01/);
    expect(r.stdout).toMatch(/would remove +toy\.box +north +box-expired +expired at/);
    expect(r.stdout).toMatch(/would remove +toy\.shelf +north +shelf-freed/);
    expect(r.stdout).toMatch(/kept +toy\.shelf +north +shelf-busy +in use by box-young/);
    expect(r.stdout).not.toMatch(/box-south/);
    expect(ids(state)).toEqual(before);
  });

  it('--apply removes exactly the candidates, in every region asked, and goes on past a failure', async () => {
    const state = toyState();
    const r = await ore(
      ['toy', 'gc', '--toy-state', state, '--region', 'north', '--region', 'south', '--apply'],
      clock,
    );
    expect(r.code).toBe(1); // box-stuck failed
    expect(r.stdout).toMatch(/failed +toy\.box +north +box-stuck +age 9h0m: box-stuck is stuck/);
    expect(ids(state)).toEqual(['box-foreign', 'box-kept', 'box-stuck', 'box-young', 'shelf-busy']);
  });

  it('--json reports every resource; --duration is the old spelling of --older-than', async () => {
    const state = toyState();
    const r = await ore(['toy', 'gc', '--toy-state', state, '--duration', '30m', '--json'], clock);
    expect(r.code, r.stderr).toBe(0);
    const outcome = JSON.parse(r.stdout) as {
      identity: Record<string, string>;
      report: { results: Array<{ resource: { id: string }; action: string }> };
    };
    expect(outcome.identity.account).toBe('toy-account');
    const byId = Object.fromEntries(outcome.report.results.map((x) => [x.resource.id, x.action]));
    expect(byId['box-young']).toBe('would-remove');
    expect(byId['box-foreign']).toBe('kept');
    expect(byId['shelf-busy']).toBe('would-remove');
  });

  it('a failed listing touches nothing of that kind and fails the run', async () => {
    const state = toyState({ failList: 'toy.shelf' });
    const r = await ore(['toy', 'gc', '--toy-state', state, '--apply'], clock);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/toy\.shelf +listing: cannot list toy\.shelf/);
    expect(ids(state)).toContain('shelf-freed');
  });

  it('bad input is one line and exit 2', async () => {
    const state = toyState();
    for (const args of [
      ['toy', 'gc', '--toy-state', state, '--older-than', 'soon'],
      ['toy', 'gc', '--toy-state', state, '--older-than', '1h', '--duration', '2h'],
      ['toy', 'gc', '--toy-state', state, '--kind', 'toy.nope'],
      ['toy', 'gc', '--toy-state', state, '--all-regions', '--region', 'north'],
    ]) {
      const r = await ore(args, clock);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).not.toMatch(/at .*\.js/);
    }
  });
});

describe('ore gc across platforms', () => {
  it('sweeps each platform with gc and reports a platform whose credentials fail without stopping', async () => {
    const state = toyState({ badCredentials: true });
    const r = await ore(['gc', '-p', 'toy', '--toy-state', state], clock);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ore gc: toy: toy credentials in .* are not valid/);
  });
});

describe('ore <platform> <verb>', () => {
  it('maps verb flags, aliases, positionals and platform options; --json prints data', async () => {
    const r = await ore([
      'toy',
      'echo',
      'a',
      'b',
      '--count',
      '2',
      '--shout',
      '--state-file',
      '/x',
      '--region',
      'south',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ words: ['A', 'B', 'A', 'B'], region: 'south' });
    expect(r.stderr).toMatch(/echoing: done, 2\/2/);
  });

  it('prints text without --json', async () => {
    const r = await ore(['toy', 'echo', 'hi', '--toy-state', '/x']);
    expect(r.stdout).toBe('hi\n');
  });

  it('usage and config errors are one line with exit 2', async () => {
    for (const args of [
      ['toy', 'echo', 'x', '--toy-state', '/x', '--count', 'many'],
      ['toy', 'echo', 'x', '--toy-state', '/x', '--fail', 'the file /x is broken'],
      ['toy', 'echo', 'x', '--toy-state', '/x', '--state-file', '/y'],
      ['toy', 'echo', 'x'],
      ['toy', 'nope'],
    ]) {
      const r = await ore(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n')[0]).toMatch(/^(ore: |error: )/);
    }
  });
});
