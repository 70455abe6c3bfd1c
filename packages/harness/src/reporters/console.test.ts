import { describe, expect, it } from 'vitest';
import type { RunInfo, RunSummary, TestResult } from '../result.js';
import { ConsoleReporter } from './console.js';

function sink() {
  const chunks: string[] = [];
  return { stream: { write: (s: string) => chunks.push(s) }, text: () => chunks.join('') };
}

const info: RunInfo = {
  platform: 'qemu',
  version: '2512.0.0',
  outputDir: '_kola_temp/qemu-2020-05-18-1234-4242',
  total: 3,
  startedAt: new Date('2020-05-18T12:34:00Z'),
};
const summary = (results: TestResult[], extra: Partial<RunSummary> = {}): RunSummary => ({
  ...info,
  results,
  status: results.some((r) => r.status === 'FAIL') ? 'FAIL' : results.length ? 'PASS' : '',
  durationMs: 5000,
  ...extra,
});

describe('ConsoleReporter', () => {
  it('prints go-test style lines, failure output indented 8 spaces, subtests nested 4 spaces', async () => {
    const { stream, text } = sink();
    const rep = new ConsoleReporter(stream);
    const results: TestResult[] = [
      {
        name: 'basic.ssh/sub',
        parent: 'basic.ssh',
        status: 'FAIL',
        durationMs: 1000,
        output: 'sub log\nsecond',
      },
      {
        name: 'basic.ssh',
        status: 'FAIL',
        durationMs: 12_340,
        output: 'cluster.go:42: ssh failed\n',
        failure: { kind: 'fail', message: 'ssh failed' },
      },
      { name: 'basic.users', status: 'PASS', durationMs: 1500, output: 'hidden when not verbose' },
      {
        name: 'aws.only',
        status: 'SKIP',
        durationMs: 0,
        output: '',
        skipReason: 'not supported on qemu; only: aws',
      },
    ];
    await rep.runStarted(info);
    await rep.testStarted('basic.ssh');
    await rep.testStarted('basic.ssh/sub');
    for (const r of results) await rep.testFinished(r);
    await rep.runFinished(summary(results));
    expect(text()).toBe(
      [
        '=== RUN   basic.ssh',
        '=== RUN   basic.ssh/sub',
        '--- FAIL: basic.ssh (12.34s)',
        '        cluster.go:42: ssh failed',
        '    --- FAIL: basic.ssh/sub (1.00s)',
        '            sub log',
        '            second',
        '--- PASS: basic.users (1.50s)',
        '--- SKIP: aws.only (0.00s)',
        '        not supported on qemu; only: aws',
        '1 passed, 1 failed, 1 skipped of 3 tests (5.00s)',
        'FAIL, output in _kola_temp/qemu-2020-05-18-1234-4242',
        '',
      ].join('\n'),
    );
  });

  it('shows the failure message when the output does not contain it', () => {
    const { stream, text } = sink();
    const rep = new ConsoleReporter(stream);
    rep.testFinished({
      name: 't',
      status: 'FAIL',
      durationMs: 10,
      output: '',
      failure: { kind: 'timeout', message: 'timed out after 10m running the test' },
    });
    expect(text()).toBe('--- FAIL: t (0.01s)\n        timed out after 10m running the test\n');
  });

  it('verbose prints passing output; PASS final line; nested subtests indent further', () => {
    const { stream, text } = sink();
    const rep = new ConsoleReporter(stream, { verbose: true });
    rep.testFinished({ name: 'a/b/c', parent: 'a/b', status: 'PASS', durationMs: 1, output: 'c out' });
    rep.testFinished({ name: 'a/b', parent: 'a', status: 'PASS', durationMs: 2, output: '' });
    rep.testFinished({ name: 'a', status: 'PASS', durationMs: 3, output: 'a out' });
    rep.runFinished(summary([{ name: 'a', status: 'PASS', durationMs: 3, output: '' }]));
    expect(text().split('\n')).toEqual([
      '--- PASS: a (0.00s)',
      '        a out',
      '    --- PASS: a/b (0.00s)',
      '        --- PASS: a/b/c (0.00s)',
      '                c out',
      '1 passed, 0 failed, 0 skipped of 3 tests (5.00s)',
      'PASS, output in _kola_temp/qemu-2020-05-18-1234-4242',
      '',
    ]);
  });

  it('interrupted runs end with FAIL (interrupted) and flush orphaned subtests', () => {
    const { stream, text } = sink();
    const rep = new ConsoleReporter(stream);
    rep.testFinished({
      name: 'p/s',
      parent: 'p',
      status: 'FAIL',
      durationMs: 1,
      output: 'x',
      failure: { kind: 'interrupted', message: 'interrupted' },
    });
    rep.runFinished(summary([], { interrupted: true, status: 'FAIL' }));
    const out = text();
    expect(out).toContain('--- FAIL: p/s (0.00s)');
    expect(out.trimEnd().split('\n').at(-1)).toBe(
      'FAIL (interrupted), output in _kola_temp/qemu-2020-05-18-1234-4242',
    );
  });

  it('a run where no test ran ends with FAIL', () => {
    const { stream, text } = sink();
    new ConsoleReporter(stream).runFinished(summary([]));
    expect(text().trimEnd().split('\n').at(-1)).toBe('FAIL, output in _kola_temp/qemu-2020-05-18-1234-4242');
  });
});
