import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunInfo, RunSummary, TestResult } from '../result.js';
import { JsonReporter } from './json.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'json-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const info: RunInfo = {
  platform: 'aws',
  version: '2512.1.0',
  outputDir: '/o',
  total: 2,
  startedAt: new Date(),
};
const read = (path: string) => JSON.parse(readFileSync(path, 'utf8'));

describe('JsonReporter', () => {
  it("writes mantle's report.json shape, updated after every test", async () => {
    const path = join(dir, 'reports', 'report.json');
    const rep = new JsonReporter(path);
    await rep.runStarted(info);
    expect(read(path)).toEqual({
      tests: [],
      result: '',
      platform: 'aws',
      version: '2512.1.0',
      interrupted: false,
      finished: false,
    });

    const sub: TestResult = {
      name: 'basic/sub',
      parent: 'basic',
      status: 'PASS',
      durationMs: 1.5,
      output: 'sub out',
    };
    const failed: TestResult = {
      name: 'basic',
      status: 'FAIL',
      durationMs: 12_345,
      output: 'token=abc.def.ghi\nboom',
      failure: { kind: 'console', message: 'console check failed: kernel panic', code: 'console' },
      machines: [{ id: 'i-1', dir: 'basic/i-1', console: 'basic/i-1/console.txt' }],
    };
    const skipped: TestResult = {
      name: 'gce.only',
      status: 'SKIP',
      durationMs: 0,
      output: '',
      skipReason: 'not on aws',
    };
    await rep.testFinished(sub);
    expect(read(path).tests).toHaveLength(1);
    expect(read(path).result).toBe('');
    await rep.testFinished(failed);
    expect(read(path).result).toBe('FAIL'); // known failing while still running
    await rep.testFinished(skipped);
    const summary: RunSummary = {
      ...info,
      results: [sub, failed, skipped],
      status: 'FAIL',
      durationMs: 20_000,
    };
    await rep.runFinished(summary);

    const report = read(path);
    expect(Object.keys(report)).toEqual([
      'tests',
      'result',
      'platform',
      'version',
      'interrupted',
      'finished',
    ]);
    expect(report.result).toBe('FAIL');
    expect(report.finished).toBe(true);
    expect(report.tests).toEqual([
      { name: 'basic/sub', result: 'PASS', duration: 1_500_000, output: 'sub out', parent: 'basic' },
      {
        name: 'basic',
        result: 'FAIL',
        duration: 12_345_000_000,
        output: 'token=[REDACTED]\nboom',
        failure: { kind: 'console', message: 'console check failed: kernel panic', code: 'console' },
        machines: [{ id: 'i-1', dir: 'basic/i-1', console: 'basic/i-1/console.txt' }],
      },
      { name: 'gce.only', result: 'SKIP', duration: 0, output: '', reason: 'not on aws' },
    ]);
    for (const t of report.tests) expect(Number.isInteger(t.duration)).toBe(true);
    // 2-space indentation
    expect(readFileSync(path, 'utf8').split('\n')[1]).toBe('  "tests": [');
  });

  it('result is PASS when everything passed, "" when nothing ran, FAIL when interrupted', async () => {
    const path = join(dir, 'r.json');
    const pass = new JsonReporter(path);
    await pass.runStarted(info);
    const ok: TestResult = { name: 'a', status: 'PASS', durationMs: 1, output: '' };
    await pass.testFinished(ok);
    await pass.runFinished({ ...info, results: [ok], status: 'PASS', durationMs: 1 });
    expect(read(path).result).toBe('PASS');

    const none = new JsonReporter(path);
    await none.runStarted(info);
    await none.runFinished({ ...info, results: [], status: '', durationMs: 1 });
    expect(read(path).result).toBe('');

    const stopped = new JsonReporter(path);
    await stopped.runStarted(info);
    await stopped.testFinished(ok);
    await stopped.runFinished({ ...info, results: [ok], status: 'PASS', durationMs: 1, interrupted: true });
    expect(read(path)).toMatchObject({ result: 'FAIL', interrupted: true, finished: true });
  });

  it('concurrent testFinished calls all land in the file', async () => {
    const path = join(dir, 'c.json');
    const rep = new JsonReporter(path);
    await rep.runStarted(info);
    await Promise.all(
      Array.from({ length: 25 }, (_, i) =>
        rep.testFinished({ name: `t${i}`, status: 'PASS', durationMs: i, output: '' }),
      ),
    );
    expect(read(path).tests.map((t: { name: string }) => t.name)).toEqual(
      Array.from({ length: 25 }, (_, i) => `t${i}`),
    );
  });
});
