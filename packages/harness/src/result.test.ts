import { describe, expect, it } from 'vitest';
import { countResults, formatSeconds, isTopLevel, runStatus, type TestResult } from './result.js';

const r = (name: string, status: TestResult['status'], parent?: string): TestResult => ({
  name,
  status,
  durationMs: 1,
  output: '',
  ...(parent ? { parent } : {}),
});

describe('result helpers', () => {
  it('runStatus: empty is "", any failure (subtests included) is FAIL, interrupted is FAIL', () => {
    expect(runStatus([])).toBe('');
    expect(runStatus([r('a', 'PASS'), r('b', 'SKIP')])).toBe('PASS');
    expect(runStatus([r('a', 'PASS'), r('a/x', 'FAIL', 'a')])).toBe('FAIL');
    expect(runStatus([r('a', 'PASS')], true)).toBe('FAIL');
    expect(runStatus([r('a', 'SKIP')])).toBe('PASS');
  });

  it('countResults counts top-level tests unless asked for subtests', () => {
    const results = [r('a', 'PASS'), r('a/x', 'FAIL', 'a'), r('b', 'FAIL'), r('c', 'SKIP')];
    expect(countResults(results)).toEqual({ passed: 1, failed: 1, skipped: 1, total: 3 });
    expect(countResults(results, { subtests: true })).toEqual({ passed: 1, failed: 2, skipped: 1, total: 4 });
    expect(isTopLevel(results[1]!)).toBe(false);
  });

  it('formatSeconds prints go-test style seconds', () => {
    expect(formatSeconds(1234)).toBe('1.23s');
    expect(formatSeconds(0)).toBe('0.00s');
    expect(formatSeconds(61_005)).toBe('61.01s');
  });
});
