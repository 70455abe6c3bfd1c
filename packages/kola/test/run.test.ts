import { existsSync, mkdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  fakeEnv,
  fixtureTestsDir,
  kola,
  ledgerAlive,
  ledgerCreated,
  liveFakeMachines,
  readJson,
  tempDir,
} from './helpers.js';

interface Report {
  tests: Array<{
    name: string;
    result: string;
    duration: number;
    output: string;
    reason?: string;
    failure?: { kind: string; message: string };
  }>;
  result: string;
  platform: string;
  version: string;
}

function fakeArgs(stateDir: string, outputDir: string, extra: string[] = []): string[] {
  return [
    '-p',
    'fake',
    '--fake-state-dir',
    stateDir,
    '--output-dir',
    outputDir,
    '--ssh-timeout',
    '20s',
    ...extra,
  ];
}

function report(outputDir: string): Report {
  return readJson<Report>(join(outputDir, 'reports/report.json'));
}

function tapLines(outputDir: string): string[] {
  return readFileSync(join(outputDir, 'test.tap'), 'utf8').split('\n');
}

describe('kola run on the fake platform', () => {
  it('passes a test and writes every report, properties.json and the -latest link', async () => {
    const cwd = tempDir();
    const state = tempDir();
    const r = await kola(['run', 'fixture.pass', '-p', 'fake', '--fake-state-dir', state], { cwd });
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/); // no stack traces
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^=== RUN {3}fixture\.pass$/m);
    expect(r.stdout).toMatch(/^--- PASS: fixture\.pass \(\d+\.\d\ds\)$/m);
    const last = r.stdout.trim().split('\n').pop()!;
    expect(last).toMatch(/^PASS, output in /);

    const link = join(cwd, '_kola_temp', 'fake-latest');
    const target = readlinkSync(link);
    expect(target).toMatch(/^fake-\d{4}-\d{2}-\d{2}-\d{4}-\d+$/); // relative
    const out = join(cwd, '_kola_temp', target);
    expect(last).toContain(target);

    const rep = report(out);
    expect(rep.result).toBe('PASS');
    expect(rep.platform).toBe('fake');
    expect(rep.tests).toHaveLength(1);
    expect(rep.tests[0]).toMatchObject({ name: 'fixture.pass', result: 'PASS' });
    expect(Number.isInteger(rep.tests[0]!.duration)).toBe(true);
    expect(rep.tests[0]!.duration).toBeGreaterThan(1_000_000); // nanoseconds
    expect(rep.tests[0]!.output).toContain('fixture passed');

    expect(tapLines(out).slice(0, 3)).toEqual(['TAP version 13', '1..1', 'ok 1 - fixture.pass']);
    const junit = readFileSync(join(out, 'reports/junit.xml'), 'utf8');
    expect(junit).toMatch(/<testcase [^>]*name="fixture\.pass"/);
    expect(junit).toContain('<system-out>');

    const props = readJson<Record<string, unknown>>(join(out, 'properties.json'));
    expect(props.platform).toBe('fake');
    expect(props.cmdline).toEqual(expect.arrayContaining(['run', 'fixture.pass']));
    expect(props.fake).toMatchObject({ stateDir: state });

    // one machine: its logs and userdata are in <test>/<machine id>/
    const machines = readJson<Report & { tests: Array<{ machines: Array<{ id: string; dir: string }> }> }>(
      join(out, 'reports/report.json'),
    ).tests[0]!.machines;
    expect(machines).toHaveLength(1);
    const mdir = join(out, machines[0]!.dir);
    expect(machines[0]!.dir).toBe(join('fixture.pass', machines[0]!.id));
    for (const f of ['console.txt', 'journal.txt', 'user-data'])
      expect(existsSync(join(mdir, f)), f).toBe(true);
    expect(readFileSync(join(mdir, 'user-data'), 'utf8')).toContain('sshAuthorizedKeys');
    expect(existsSync(join(out, 'kola.log'))).toBe(true);
    expect(existsSync(join(out, 'fixture.pass', 'test.log'))).toBe(true);

    expect(ledgerCreated(out)).toBeGreaterThan(0);
    expect(ledgerAlive(out)).toEqual([]);
    expect(liveFakeMachines(state)).toEqual([]);

    // a second run in the same place moves the link to the new directory
    const again = await kola(['run', 'fixture.pass', '-p', 'fake', '--fake-state-dir', state], { cwd });
    expect(again.code).toBe(0);
    expect(readlinkSync(link)).not.toBe(target);
  });

  it('fails a failing test with exit 1 and the reason in every report', async () => {
    const out = join(tempDir(), 'out');
    const state = tempDir();
    const r = await kola(['run', 'fixture.fail', 'fixture.pass', ...fakeArgs(state, out)]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^--- FAIL: fixture\.fail /m);
    expect(r.stdout).toMatch(/exited 7/);
    expect(r.stdout.trim().split('\n').pop()).toMatch(/^FAIL, output in /);
    const rep = report(out);
    expect(rep.result).toBe('FAIL');
    const failed = rep.tests.find((t) => t.name === 'fixture.fail')!;
    expect(failed.result).toBe('FAIL');
    expect(failed.failure?.message).toContain('exited 7');
    expect(failed.output).toContain('about to fail');
    expect(rep.tests.find((t) => t.name === 'fixture.pass')!.result).toBe('PASS');
    const tap = tapLines(out);
    expect(tap[1]).toBe('1..2');
    expect(tap.filter((l) => /^not ok \d+ - fixture\.fail$/.test(l))).toHaveLength(1);
    expect(readFileSync(join(out, 'reports/junit.xml'), 'utf8')).toMatch(
      /<failure [^>]*message="[^"]*exited 7/,
    );
    expect(liveFakeMachines(state)).toEqual([]);
  });

  it('kills a hanging test at its timeout, reports it as a timeout and goes on', async () => {
    const out = join(tempDir(), 'out');
    const state = tempDir();
    const r = await kola([
      'run',
      'fixture.hang',
      'fixture.ignores-signal',
      'fixture.pass',
      ...fakeArgs(state, out, ['--timeout', '3s']),
    ]);
    expect(r.code).toBe(1);
    const rep = report(out);
    for (const name of ['fixture.hang', 'fixture.ignores-signal']) {
      const t = rep.tests.find((x) => x.name === name)!;
      expect(t.result, name).toBe('FAIL');
      expect(t.failure?.kind, name).toBe('timeout');
      expect(t.failure?.message, name).toMatch(/timed out after 3s running test/);
      expect(t.duration, name).toBeLessThan(20e9);
    }
    expect(rep.tests.find((x) => x.name === 'fixture.pass')!.result).toBe('PASS');
    expect(liveFakeMachines(state)).toEqual([]);
    expect(ledgerAlive(out)).toEqual([]);
  });

  it('runs tests in parallel with -j', async () => {
    const out = join(tempDir(), 'out');
    const state = tempDir();
    const timeline = join(tempDir(), 'timeline');
    const r = await kola(['run', 'fixture.slow.*', '-j', '3', ...fakeArgs(state, out)], {
      env: fakeEnv({ FIXTURE_TIMELINE: timeline }),
    });
    expect(r.code).toBe(0);
    const events = readFileSync(timeline, 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split(' '));
    const starts = events.filter((e) => e[1] === 'start').map((e) => Number(e[2]));
    const ends = events.filter((e) => e[1] === 'end').map((e) => Number(e[2]));
    expect(starts).toHaveLength(3);
    // every test started before any finished: they overlapped
    expect(Math.max(...starts)).toBeLessThan(Math.min(...ends));
  });

  it('with -j, starts the tests that took longest in earlier runs first, and remembers durations', async () => {
    const cache = tempDir();
    const file = join(cache, 'kola/durations/fake.json');
    mkdirSync(join(cache, 'kola/durations'), { recursive: true });
    writeFileSync(
      file,
      JSON.stringify({ version: 1, tests: { 'fixture.slow.a': 5, 'fixture.slow.c': 90_000 } }),
    );
    const runOrder = (stdout: string) =>
      stdout
        .split('\n')
        .filter((l) => l.startsWith('=== RUN'))
        .map((l) => l.slice('=== RUN'.length).trim());
    const env = fakeEnv({ XDG_CACHE_HOME: cache });

    const parallel = await kola(
      ['run', 'fixture.slow.*', '-j', '2', ...fakeArgs(tempDir(), join(tempDir(), 'out'))],
      {
        env,
      },
    );
    expect(parallel.code).toBe(0);
    // b was never timed (it may be long), then c (90 s last time) before a (5 ms)
    expect(runOrder(parallel.stdout)).toEqual(['fixture.slow.b', 'fixture.slow.c', 'fixture.slow.a']);
    const remembered = readJson<{ tests: Record<string, number> }>(file).tests;
    expect(Object.keys(remembered).sort()).toEqual(['fixture.slow.a', 'fixture.slow.b', 'fixture.slow.c']);
    for (const ms of Object.values(remembered)) expect(ms).toBeGreaterThanOrEqual(1500); // each sleeps 1.5 s
    expect(remembered['fixture.slow.c']).toBeLessThan(90_000);

    // one at a time (the default here), the suite's own order
    const serial = await kola(['run', 'fixture.slow.*', ...fakeArgs(tempDir(), join(tempDir(), 'out'))], {
      env,
    });
    expect(serial.code).toBe(0);
    expect(runOrder(serial.stdout)).toEqual(['fixture.slow.a', 'fixture.slow.b', 'fixture.slow.c']);
  });

  it('runs tests one at a time by default', async () => {
    const out = join(tempDir(), 'out');
    const state = tempDir();
    const timeline = join(tempDir(), 'timeline');
    const r = await kola(['run', 'fixture.slow.a', 'fixture.slow.b', ...fakeArgs(state, out)], {
      env: fakeEnv({ FIXTURE_TIMELINE: timeline }),
    });
    expect(r.code).toBe(0);
    const events = readFileSync(timeline, 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split(' '));
    expect(events.map((e) => e[1])).toEqual(['start', 'end', 'start', 'end']);
  });

  it('reports steps as subtests, and skips the rest after a failure with failFast', async () => {
    const out = join(tempDir(), 'out');
    const r = await kola(['run', 'fixture.steps', ...fakeArgs(tempDir(), out)]);
    expect(r.code).toBe(1);
    const byName = Object.fromEntries(report(out).tests.map((t) => [t.name, t]));
    expect(byName['fixture.steps/first']?.result).toBe('PASS');
    expect(byName['fixture.steps/second']?.result).toBe('FAIL');
    expect(byName['fixture.steps/third']?.result).toBe('SKIP');
    expect(byName['fixture.steps/third']?.reason).toMatch(/previous test has already failed/);
    expect(byName['fixture.steps']?.result).toBe('FAIL');
    expect(r.stdout).toMatch(/^ {4}--- FAIL: fixture\.steps\/second/m);
    // TAP lists top-level tests only
    expect(tapLines(out)[1]).toBe('1..1');
  });

  it('fails a test whose console shows a kernel panic, naming the line', async () => {
    const out = join(tempDir(), 'out');
    const r = await kola([
      'run',
      'fixture.pass',
      ...fakeArgs(tempDir(), out, [
        '--fake-console-text',
        'Kernel panic - not syncing: Attempted to kill init!',
      ]),
    ]);
    expect(r.code).toBe(1);
    const t = report(out).tests[0]!;
    expect(t.result).toBe('FAIL');
    expect(t.failure?.kind).toBe('console');
    expect(t.failure?.message).toContain('Kernel panic - not syncing: Attempted to kill init!');
  });

  it('follows the console live: a panic fails a hanging test long before its timeout', async () => {
    const out = join(tempDir(), 'out');
    const started = Date.now();
    const r = await kola([
      'run',
      'fixture.hang',
      ...fakeArgs(tempDir(), out, [
        '--timeout',
        '60s',
        '--fake-console-text',
        'Kernel panic - not syncing: VFS: Unable to mount root fs',
      ]),
    ]);
    expect(r.code).toBe(1);
    expect(Date.now() - started).toBeLessThan(30_000);
    const t = report(out).tests[0]!;
    expect(t.failure?.kind).toBe('console');
    expect(t.failure?.message).toMatch(/on machine fake-[0-9a-f]+: Kernel panic - not syncing: VFS/);
  });

  it('checks the journal too', async () => {
    const out = join(tempDir(), 'out');
    const r = await kola([
      'run',
      'fixture.pass',
      ...fakeArgs(tempDir(), out, ['--fake-journal-text', 'kernel: Oops: 0002 [#1] SMP']),
    ]);
    expect(r.code).toBe(1);
    const t = report(out).tests[0]!;
    expect(t.failure?.message).toMatch(/journal\.txt.*Oops: 0002/);
  });

  it('skips denylisted tests with their reason, and runs them again once the snooze expired', async () => {
    const dir = tempDir();
    const denylist = join(dir, 'denylist.yaml');
    writeFileSync(
      denylist,
      [
        '- pattern: fixture.fail',
        '  reason: flaky on this platform',
        '  tracker: https://tracker.example/issue/1',
        '- pattern: fixture.pass',
        '  reason: snoozed long ago',
        '  snooze: 2020-01-01',
        '',
      ].join('\n'),
    );
    const out = join(dir, 'out');
    const r = await kola([
      'run',
      'fixture.fail',
      'fixture.pass',
      '--denylist',
      denylist,
      ...fakeArgs(tempDir(), out),
    ]);
    expect(r.code).toBe(0);
    const byName = Object.fromEntries(report(out).tests.map((t) => [t.name, t]));
    expect(byName['fixture.fail']?.result).toBe('SKIP');
    expect(byName['fixture.fail']?.reason).toContain('flaky on this platform');
    expect(byName['fixture.fail']?.reason).toContain('https://tracker.example/issue/1');
    expect(byName['fixture.pass']?.result).toBe('PASS');
    expect(tapLines(out).some((l) => /^ok \d+ - fixture\.fail # SKIP .*flaky on this platform/.test(l))).toBe(
      true,
    );
    expect(readFileSync(join(out, 'reports/junit.xml'), 'utf8')).toMatch(
      /<skipped message="[^"]*flaky on this platform/,
    );
    expect(r.stdout).toMatch(/--- SKIP: fixture\.fail/);
  });

  it('selects by several globs and by tag', async () => {
    const out = join(tempDir(), 'out');
    const r = await kola(['run', 'fixture.*', '--tag', 'special', ...fakeArgs(tempDir(), out)]);
    expect(r.code).toBe(0);
    expect(report(out).tests.map((t) => t.name)).toEqual(['fixture.cluster']);
  });

  it('reports a test that skips itself', async () => {
    const out = join(tempDir(), 'out');
    const r = await kola(['run', 'fixture.skips', ...fakeArgs(tempDir(), out)]);
    expect(r.code).toBe(0);
    expect(report(out).tests[0]).toMatchObject({ result: 'SKIP', reason: 'nothing to do here' });
  });
});

describe('kola usage errors', () => {
  const cases: Array<[string, string[], RegExp]> = [
    [
      'a pattern that matches nothing',
      ['run', 'no.such.test', '-p', 'fake'],
      /no test matches "no\.such\.test"/,
    ],
    ['an unknown platform', ['run', 'fixture.pass', '-p', 'nimbus'], /unknown platform "nimbus"/],
    [
      'a bad -j',
      ['run', 'fixture.pass', '-p', 'fake', '-j', 'zero'],
      /--parallel: "zero" is not a whole number/,
    ],
    [
      'a bad --timeout',
      ['run', 'fixture.pass', '-p', 'fake', '--timeout', 'soon'],
      /--timeout: "soon" is not a duration/,
    ],
    [
      'a missing denylist',
      ['run', 'fixture.pass', '-p', 'fake', '--denylist', '/nonexistent/deny.yaml'],
      /deny\.yaml/,
    ],
    [
      'a bad platform option',
      ['run', 'fixture.pass', '-p', 'fake', '--fake-boot-delay-ms', 'soon'],
      /--fake-boot-delay-ms: "soon" is not a number/,
    ],
    ['an unknown flag', ['run', '--frobnicate'], /unknown option '--frobnicate'/],
    [
      'a missing --key file',
      ['run', 'fixture.pass', '-p', 'fake', '--key', '/nonexistent.pub'],
      /--key \/nonexistent\.pub/,
    ],
  ];
  for (const [what, args, message] of cases) {
    it(`exits 2 with one line for ${what}`, async () => {
      const cwd = tempDir();
      const r = await kola(args, { cwd });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/^\s+at /m);
      // nothing was created
      expect(existsSync(join(cwd, '_kola_temp'))).toBe(false);
    });
  }

  it('refuses to wipe an output directory kola did not create', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'precious.txt'), 'keep me');
    const r = await kola(['run', 'fixture.pass', '-p', 'fake', '--output-dir', dir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/refusing to remove existing output directory/);
    expect(readFileSync(join(dir, 'precious.txt'), 'utf8')).toBe('keep me');
  });
});

describe('kola list and version', () => {
  it('lists tests as a table and as JSON', async () => {
    const table = await kola(['list']);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^Test Name\s+Platforms\s+Tags/);
    expect(table.stdout).toMatch(/^basic\s+\[all\]\s+smoke/m);
    const json = await kola(['list', 'fixture.slow.*', '--json']);
    expect(json.code).toBe(0);
    const rows = JSON.parse(json.stdout) as Array<{ name: string; tags: string[] }>;
    expect(rows.map((r) => r.name)).toEqual(['fixture.slow.a', 'fixture.slow.b', 'fixture.slow.c']);
    expect(rows[0]!.tags).toEqual(['slow']);
  });

  it('prints its version', async () => {
    const r = await kola(['version']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^mantle\/kola version \d+\.\d+\.\d+\n$/);
  });

  it('does not expose the fake platform without the test hook', async () => {
    const env = { ...process.env };
    delete env.KOLA_TEST_PLATFORMS;
    const r = await kola(['run', 'basic', '-p', 'fake'], { env, cwd: tempDir() });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown platform "fake"/);
  });
});

describe('kola run: limits, exit codes and keys', () => {
  it('--max-runtime ends the whole run: running tests fail as timed out, the rest are not run', async () => {
    const out = join(tempDir(), 'out');
    const state = tempDir();
    const r = await kola([
      'run',
      'fixture.hang',
      'fixture.pass',
      ...fakeArgs(state, out, ['--max-runtime', '3s']),
    ]);
    expect(r.code).toBe(1);
    const byName = Object.fromEntries(report(out).tests.map((t) => [t.name, t]));
    expect(byName['fixture.hang']?.failure).toMatchObject({ kind: 'timeout' });
    expect(byName['fixture.hang']?.failure?.message).toMatch(/--max-runtime/);
    expect(byName['fixture.pass']).toMatchObject({
      result: 'SKIP',
      reason: 'not run: --max-runtime reached',
    });
    expect(liveFakeMachines(state)).toEqual([]);
  });

  it('exits 3 when only infrastructure failed (machines could not be created)', async () => {
    const out = join(tempDir(), 'out');
    const state = tempDir();
    const r = await kola(['run', 'fixture.pass', ...fakeArgs(state, out, ['--fake-fail-create', '1'])]);
    expect(r.code).toBe(3);
    expect(report(out).tests[0]?.failure?.kind).toBe('infrastructure');
    expect(liveFakeMachines(state)).toEqual([]);
  });

  it('copies test.tap to --tapfile', async () => {
    const out = join(tempDir(), 'out');
    const tap = join(tempDir(), 'copy.tap');
    const r = await kola(['run', 'fixture.pass', '--tapfile', tap, ...fakeArgs(tempDir(), out)]);
    expect(r.code).toBe(0);
    expect(readFileSync(tap, 'utf8')).toBe(readFileSync(join(out, 'test.tap'), 'utf8'));
  });

  it('authorizes --key keys and maps $public_ipv4/$private_ipv4 in userdata', async () => {
    const out = join(tempDir(), 'out');
    const keyFile = join(tempDir(), 'extra.pub');
    const key =
      'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGXwWQ9yN3x4h0qC2o2VQ0m0yXKp3wJ8kZy3nVvW8fOa operator@example';
    writeFileSync(keyFile, `# the operator's key\n${key}\n`);
    const r = await kola(['run', 'fixture.userdata', '--key', keyFile, ...fakeArgs(tempDir(), out)]);
    expect(r.code, r.stderr).toBe(0);
    const machine = report(out).tests[0] as unknown as { machines: Array<{ dir: string }> };
    const userData = JSON.parse(readFileSync(join(out, machine.machines[0]!.dir, 'user-data'), 'utf8')) as {
      passwd: { users: Array<{ name: string; sshAuthorizedKeys: string[] }> };
      storage: { files: Array<{ contents: { source: string } }> };
    };
    const core = userData.passwd.users.find((u) => u.name === 'core')!;
    expect(core.sshAuthorizedKeys).toHaveLength(2);
    expect(core.sshAuthorizedKeys[1]).toBe(key);
    expect(userData.storage.files[0]!.contents.source).toBe('data:,public=127.0.0.1%20private=127.0.0.1');
  });

  it('logs progress on stderr with -v and keeps stdout for results', async () => {
    const out = join(tempDir(), 'out');
    const r = await kola(['run', 'fixture.pass', '-v', ...fakeArgs(tempDir(), out)]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/INFO\s+machine created/);
    expect(r.stdout).not.toMatch(/machine created/);
    const log = readFileSync(join(out, 'kola.log'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { level: string; msg: string });
    expect(log.some((l) => l.level === 'debug')).toBe(true);
  });
});

describe('external tests (-E)', () => {
  const extDir = join(fixtureTestsDir, 'ext');

  it('runs each executable as ext.<dir>.<file> with its metadata; 77 skips', async () => {
    const out = join(tempDir(), 'out');
    const r = await kola(['run', 'ext.*', '-E', extDir, ...fakeArgs(tempDir(), out)]);
    expect(r.code).toBe(1);
    const byName = Object.fromEntries(report(out).tests.map((t) => [t.name, t]));
    expect(Object.keys(byName).sort()).toEqual(['ext.ext.fails', 'ext.ext.passes', 'ext.ext.skips']);
    expect(byName['ext.ext.passes']?.result).toBe('PASS');
    expect(byName['ext.ext.passes']?.output).toContain('external test on fake as ext.ext.passes');
    expect(byName['ext.ext.fails']?.result).toBe('FAIL');
    expect(byName['ext.ext.fails']?.failure?.message).toMatch(/fails exited 5: about to fail/);
    expect(byName['ext.ext.skips']).toMatchObject({ result: 'SKIP', reason: 'not for this machine' });

    const listed = await kola(['list', 'ext.*', '--json', '-E', extDir]);
    expect(listed.code, listed.stderr).toBe(0);
    const rows = JSON.parse(listed.stdout) as Array<{
      name: string;
      tags: string[];
      timeoutMs: number | null;
    }>;
    expect(rows.find((x) => x.name === 'ext.ext.passes')).toMatchObject({
      tags: ['external', 'fixture', 'inline'],
      timeoutMs: 120_000,
    });
    expect(rows.find((x) => x.name === 'ext.ext.fails')?.tags).toEqual(['external', 'fixture', 'negative']);
  });

  it('selects external tests by their metadata tags', async () => {
    const out = join(tempDir(), 'out');
    const r = await kola(['run', '-E', extDir, '--tag', 'inline', ...fakeArgs(tempDir(), out)]);
    expect(r.code).toBe(0);
    expect(report(out).tests.map((t) => t.name)).toEqual(['ext.ext.passes']);
  });

  it('rejects bad metadata with the file and field', async () => {
    const dir = join(tempDir(), 'bad');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(dir);
    writeFileSync(join(dir, 't'), '#!/bin/sh\ntrue\n', { mode: 0o755 });
    writeFileSync(join(dir, 't.kola.json'), '{ "clusterSize": "two" }');
    const r = await kola(['run', '-E', dir, '-p', 'fake']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/t\.kola\.json: "clusterSize": /);
  });
});
