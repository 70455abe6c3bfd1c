import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TestResult } from './result.js';
import { loadTestDurations, longestFirst, saveTestDurations, testDurationsFile } from './test-durations.js';

const named = (...names: string[]) => names.map((name) => ({ name }));
const result = (
  name: string,
  status: TestResult['status'],
  durationMs: number,
  parent?: string,
): TestResult => ({
  name,
  status,
  durationMs,
  output: '',
  ...(parent ? { parent } : {}),
});

describe('longestFirst', () => {
  it('starts the longest remembered test first, untimed tests before all, ties in the given order', () => {
    const durations = new Map([
      ['a', 10],
      ['b', 50],
      ['c', 50],
      ['e', 5],
    ]);
    expect(longestFirst(named('a', 'b', 'c', 'd', 'e', 'f'), durations).map((t) => t.name)).toEqual([
      'd',
      'f',
      'b',
      'c',
      'a',
      'e',
    ]);
  });

  it('keeps the given order when nothing is remembered', () => {
    expect(longestFirst(named('z', 'a', 'm'), new Map()).map((t) => t.name)).toEqual(['z', 'a', 'm']);
  });
});

describe('test durations file', () => {
  const dir = () => mkdtempSync(join(tmpdir(), 'kola-durations-'));

  it('lives under $XDG_CACHE_HOME/kola/durations, per platform, else ~/.cache', () => {
    expect(testDurationsFile('qemu', { XDG_CACHE_HOME: '/c' })).toBe('/c/kola/durations/qemu.json');
    expect(testDurationsFile('aws', {})).toMatch(/\/\.cache\/kola\/durations\/aws\.json$/);
  });

  it('keeps the longer of a timed-out test’s durations, and ignores tests that could not show theirs', async () => {
    const file = join(dir(), 'fake.json');
    await saveTestDurations(file, [
      result('cut', 'PASS', 90_000),
      result('hung', 'PASS', 1000),
      result('infra', 'PASS', 30_000),
    ]);
    const failed = (name: string, kind: 'timeout' | 'infrastructure' | 'interrupted', ms: number) => ({
      ...result(name, 'FAIL', ms),
      failure: { kind, message: kind },
    });
    await saveTestDurations(file, [
      failed('cut', 'timeout', 20_000), // e.g. cut short by --max-runtime: it takes at least 20 s
      failed('hung', 'timeout', 600_000),
      failed('infra', 'infrastructure', 2),
      failed('new', 'interrupted', 5),
    ]);
    expect(Object.fromEntries(loadTestDurations(file))).toEqual({
      cut: 90_000,
      hung: 600_000,
      infra: 30_000,
    });
  });

  it('remembers tests that ran, not skipped ones or subtests, and keeps the others', async () => {
    const file = join(dir(), 'sub', 'fake.json');
    await saveTestDurations(file, [result('old', 'PASS', 7000), result('gone', 'PASS', 1)]);
    await saveTestDurations(file, [
      result('a', 'PASS', 1200),
      result('a/step', 'PASS', 900, 'a'),
      result('b', 'FAIL', 60_000),
      result('gone', 'SKIP', 0),
    ]);
    expect(Object.fromEntries(loadTestDurations(file))).toEqual({ a: 1200, b: 60_000, gone: 1, old: 7000 });
    expect(JSON.parse(readFileSync(file, 'utf8')).version).toBe(1);
  });

  it('reads a missing, corrupt or foreign file as knowing nothing, and drops bad values', () => {
    const d = dir();
    expect(loadTestDurations(join(d, 'missing.json')).size).toBe(0);
    writeFileSync(join(d, 'corrupt.json'), '{ not json');
    expect(loadTestDurations(join(d, 'corrupt.json')).size).toBe(0);
    writeFileSync(join(d, 'odd.json'), JSON.stringify({ tests: { a: 'slow', b: -1, c: 30 } }));
    expect(Object.fromEntries(loadTestDurations(join(d, 'odd.json')))).toEqual({ c: 30 });
    writeFileSync(join(d, 'null.json'), 'null');
    expect(loadTestDurations(join(d, 'null.json')).size).toBe(0);
  });
});
