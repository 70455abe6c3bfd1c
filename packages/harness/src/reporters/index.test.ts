import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Reporter, RunInfo, TestResult } from '../result.js';
import { createFileReporters, JsonReporter, JunitReporter, multiReporter, TapReporter } from './index.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'reporters-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('createFileReporters', () => {
  it('creates tap, json and junit reporters at mantle-compatible paths', async () => {
    const reps = createFileReporters(dir);
    expect(reps[0]).toBeInstanceOf(TapReporter);
    expect(reps[1]).toBeInstanceOf(JsonReporter);
    expect(reps[2]).toBeInstanceOf(JunitReporter);
    const all = multiReporter(reps);
    const info: RunInfo = { platform: 'qemu', version: '', outputDir: dir, total: 1, startedAt: new Date() };
    await all.runStarted(info);
    const r: TestResult = { name: 'a.b', status: 'PASS', durationMs: 1, output: '' };
    await all.testStarted('a.b');
    await all.testFinished(r);
    // written as the test finished, before the run ends
    expect(readFileSync(join(dir, 'test.tap'), 'utf8')).toContain('ok 1 - a.b');
    expect(JSON.parse(readFileSync(join(dir, 'reports', 'report.json'), 'utf8')).tests).toHaveLength(1);
    expect(readFileSync(join(dir, 'reports', 'junit.xml'), 'utf8')).toContain('<testcase name="a.b"');
    await all.runFinished({ ...info, results: [r], status: 'PASS', durationMs: 2 });
    expect(JSON.parse(readFileSync(join(dir, 'reports', 'report.json'), 'utf8')).result).toBe('PASS');
    expect(existsSync(join(dir, 'reports', 'junit.xml'))).toBe(true);
  });
});

describe('multiReporter', () => {
  const recorder = (log: string[], tag: string, fail = false): Reporter => ({
    runStarted: async () => {
      await new Promise((r) => setTimeout(r, tag === 'a' ? 20 : 0));
      log.push(`${tag}:runStarted`);
      if (fail) throw new Error(`${tag} broke`);
    },
    testStarted: (n) => {
      log.push(`${tag}:testStarted:${n}`);
    },
    testFinished: (res) => {
      log.push(`${tag}:testFinished:${res.name}`);
    },
    runFinished: () => {
      log.push(`${tag}:runFinished`);
    },
  });
  const info: RunInfo = { platform: 'p', version: '', outputDir: '/o', total: 0, startedAt: new Date() };

  it('calls reporters in order, awaiting each', async () => {
    const log: string[] = [];
    const m = multiReporter([recorder(log, 'a'), recorder(log, 'b')]);
    await m.runStarted(info);
    await m.testStarted('t');
    expect(log).toEqual(['a:runStarted', 'b:runStarted', 'a:testStarted:t', 'b:testStarted:t']);
  });

  it('keeps calling the others when one throws, then rethrows', async () => {
    const log: string[] = [];
    const one = multiReporter([recorder(log, 'a', true), recorder(log, 'b')]);
    await expect(one.runStarted(info)).rejects.toThrow('a broke');
    expect(log).toEqual(['a:runStarted', 'b:runStarted']);
    const two = multiReporter([recorder([], 'a', true), recorder([], 'b', true)]);
    await expect(two.runStarted(info)).rejects.toBeInstanceOf(AggregateError);
  });
});
