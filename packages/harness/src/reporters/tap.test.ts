import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type { RunInfo, TestResult } from '../result.js';
import { escapeTapDescription, TapReporter } from './tap.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tap-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const info: RunInfo = { platform: 'qemu', version: '', outputDir: '/o', total: 4, startedAt: new Date() };

/** A small TAP 13 reader: plan, numbered test lines, directives and YAML blocks. */
function parseTap(text: string) {
  const lines = text.split('\n');
  expect(lines[0]).toBe('TAP version 13');
  const plan = /^1\.\.(\d+)$/.exec(lines[1] ?? '');
  expect(plan).not.toBeNull();
  const tests: Array<{
    ok: boolean;
    n: number;
    name: string;
    directive?: string;
    diag?: Record<string, unknown>;
  }> = [];
  let bail: string | undefined;
  for (let i = 2; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') continue;
    if (line.startsWith('Bail out!')) {
      bail = line.slice('Bail out!'.length).trim();
      continue;
    }
    if (line === '  ---') {
      const end = lines.indexOf('  ...', i);
      expect(end).toBeGreaterThan(i);
      const yaml = lines
        .slice(i + 1, end)
        .map((l) => {
          expect(l.startsWith('  ')).toBe(true);
          return l.slice(2);
        })
        .join('\n');
      tests.at(-1)!.diag = parseYaml(yaml);
      i = end;
      continue;
    }
    const m = /^(ok|not ok) (\d+) - ((?:[^#\\]|\\.)*?)(?: # (.*))?$/.exec(line);
    expect(m, `bad TAP line ${JSON.stringify(line)}`).not.toBeNull();
    tests.push({
      ok: m![1] === 'ok',
      n: Number(m![2]),
      name: m![3]!.replace(/\\(.)/g, '$1'),
      ...(m![4] !== undefined ? { directive: m![4] } : {}),
    });
  }
  return { plan: Number(plan![1]), tests, bail };
}

describe('TapReporter', () => {
  it('writes the plan at start and a numbered line per top-level test as each finishes', async () => {
    const path = join(dir, 'test.tap');
    const rep = new TapReporter(path);
    await rep.runStarted(info);
    expect(parseTap(readFileSync(path, 'utf8'))).toEqual({ plan: 4, tests: [], bail: undefined });

    await rep.testFinished({ name: 'basic.ssh', status: 'PASS', durationMs: 10, output: '' });
    expect(parseTap(readFileSync(path, 'utf8')).tests).toHaveLength(1);

    await rep.testFinished({
      name: 'p/sub',
      parent: 'p',
      status: 'FAIL',
      durationMs: 1,
      output: '',
      failure: { kind: 'fail', message: 'x' },
    });
    const failed: TestResult = {
      name: 'p',
      status: 'FAIL',
      durationMs: 1234.4,
      output: 'line 1\nerror: password=hunter22 leaked\nlast line',
      failure: {
        kind: 'timeout',
        message: 'timed out after 1s running the test: "quoted" # hash',
        code: 'timeout',
      },
      machines: [{ id: 'm1', dir: 'p/m1', console: 'p/m1/console.txt', journal: 'p/m1/journal.txt' }],
    };
    await rep.testFinished(failed);
    await rep.testFinished({
      name: 'odd # name',
      status: 'SKIP',
      durationMs: 0,
      output: '',
      skipReason: 'denylisted: x\ny',
    });

    const tap = parseTap(readFileSync(path, 'utf8'));
    expect(tap.plan).toBe(4);
    expect(tap.tests.map((t) => [t.ok, t.n, t.name, t.directive])).toEqual([
      [true, 1, 'basic.ssh', undefined],
      [false, 2, 'p', undefined],
      [true, 3, 'odd # name', 'SKIP denylisted: x y'],
    ]);
    expect(tap.tests[1]!.diag).toEqual({
      message: 'timed out after 1s running the test: "quoted" # hash',
      severity: 'fail',
      kind: 'timeout',
      code: 'timeout',
      duration_ms: 1234,
      machines: [{ id: 'm1', dir: 'p/m1', console: 'p/m1/console.txt', journal: 'p/m1/journal.txt' }],
      output: 'line 1\nerror: password=[REDACTED] leaked\nlast line',
    });
    expect(readFileSync(path, 'utf8')).toContain('ok 3 - odd \\# name # SKIP');
  });

  it('an interrupted run ends with Bail out!', async () => {
    const path = join(dir, 'test.tap');
    const rep = new TapReporter(path);
    await rep.runStarted({ ...info, total: 2 });
    await rep.testFinished({ name: 'a', status: 'PASS', durationMs: 1, output: '' });
    await rep.runFinished({
      ...info,
      total: 2,
      results: [],
      status: 'FAIL',
      durationMs: 1,
      interrupted: true,
    });
    const tap = parseTap(readFileSync(path, 'utf8'));
    expect(tap.bail).toBe('run interrupted');
    expect(tap.tests).toHaveLength(1);
  });

  it('escapes # and backslashes and flattens newlines in descriptions', () => {
    expect(escapeTapDescription('a#b\\c\nd')).toBe('a\\#b\\\\c d');
  });
});
