import { UsageError } from '@mantle/cluster';
import { describe, expect, it } from 'vitest';
import type { DenylistEntry } from './denylist.js';
import { hasGlobCharacters, matchesPattern, platformSkipReason, selectTests } from './selection.js';

describe('matchesPattern (Go filepath.Match over test names)', () => {
  it.each([
    ['*', 'basic.ssh', true],
    ['basic.*', 'basic.ssh', true],
    ['coreos.ignition.*', 'coreos.ignition.once', true],
    ['coreos.*', 'coreos.ignition.v2.once', true], // * crosses dots
    ['*.once', 'coreos.ignition.v2.once', true],
    ['basic.*', 'basicx.ssh', false],
    ['basic.ssh', 'basic.ssh', true],
    ['basic.ssh', 'basic.sshd', false],
    ['basic.ssh', 'basicXssh', false], // '.' is literal, not a regex dot
    ['basic.ss?', 'basic.ssh', true],
    ['basic.ss?', 'basic.ss', false],
    ['docker.[ab]*', 'docker.base', true],
    ['docker.[ab]*', 'docker.cgroup', false],
    ['docker.[a-c]*', 'docker.cgroup', true],
    ['docker.[^a-c]*', 'docker.cgroup', false],
    ['docker.[^a-c]*', 'docker.network', true],
    ['a\\*b', 'a*b', true],
    ['a\\*b', 'axb', false],
    ['*', 'parent/child', false], // like Go, * does not cross '/'
    ['parent/*', 'parent/child', true],
    ['a+b(c)', 'a+b(c)', true], // regex metacharacters are literals
    ['a+b(c)', 'aab(c)', false],
    ['x[.]y', 'x.y', true],
    ['x[\\]]y', 'x]y', true],
  ])('%s ~ %s = %s', (pattern, name, want) => {
    expect(matchesPattern(name, pattern)).toBe(want);
  });

  it.each(['[', 'a[b', '[]', 'a\\', '[-a]', '[z-a]', '[a-]'])('bad pattern %s is a UsageError', (p) => {
    expect(() => matchesPattern('x', p)).toThrow(UsageError);
  });

  it('hasGlobCharacters ignores escaped characters', () => {
    expect(hasGlobCharacters('basic.ssh')).toBe(false);
    expect(hasGlobCharacters('basic.*')).toBe(true);
    expect(hasGlobCharacters('a\\*')).toBe(false);
    expect(hasGlobCharacters('[ab]')).toBe(true);
  });
});

interface T {
  name: string;
  tags?: string[];
  platforms?: { only?: string[]; exclude?: string[] };
}
const tests: T[] = [
  { name: 'basic.ssh', tags: ['smoke'] },
  { name: 'basic.users' },
  { name: 'aws.metadata', platforms: { only: ['aws', 'gce'] } },
  { name: 'qemu.only', platforms: { only: ['qemu'] } },
  { name: 'no.qemu', platforms: { exclude: ['qemu'] }, tags: ['smoke'] },
  { name: 'coreos.ignition.once', tags: ['ignition'] },
];
const names = (xs: readonly T[]) => xs.map((t) => t.name);
const now = new Date(2024, 4, 15, 12, 0);

describe('selectTests', () => {
  it('defaults to every test and reports platform restrictions as skips with the reason', () => {
    const sel = selectTests(tests, { platform: 'qemu', now });
    expect(names(sel.selected)).toEqual(['basic.ssh', 'basic.users', 'qemu.only', 'coreos.ignition.once']);
    expect(sel.skipped.map((s) => [s.test.name, s.reason])).toEqual([
      ['aws.metadata', 'not supported on qemu; only: aws, gce'],
      ['no.qemu', 'not supported on qemu; excluded: qemu'],
    ]);
    expect(sel.unmatchedPatterns).toEqual([]);
  });

  it('selects by several patterns and returns those that matched nothing', () => {
    const sel = selectTests(tests, { platform: 'aws', patterns: ['basic.*', 'nope.*', 'aws.metadata'], now });
    expect(names(sel.selected)).toEqual(['basic.ssh', 'basic.users', 'aws.metadata']);
    expect(sel.unmatchedPatterns).toEqual(['nope.*']);
  });

  it('a pattern matching only tests unsupported on this platform is not "unmatched"', () => {
    const sel = selectTests(tests, { platform: 'qemu', patterns: ['aws.metadata'], now });
    expect(sel.selected).toEqual([]);
    expect(sel.unmatchedPatterns).toEqual([]);
    expect(sel.skipped).toHaveLength(1);
  });

  it('an exact name selects just that test', () => {
    const sel = selectTests(tests, { platform: 'qemu', patterns: ['basic.ssh'], now });
    expect(names(sel.selected)).toEqual(['basic.ssh']);
  });

  it('filters by tags (any of), with !tag excluding', () => {
    expect(names(selectTests(tests, { platform: 'aws', tags: ['smoke'], now }).selected)).toEqual([
      'basic.ssh',
      'no.qemu',
    ]);
    expect(names(selectTests(tests, { platform: 'aws', tags: ['smoke', 'ignition'], now }).selected)).toEqual(
      ['basic.ssh', 'no.qemu', 'coreos.ignition.once'],
    );
    expect(
      names(selectTests(tests, { platform: 'aws', patterns: ['basic.*'], tags: ['!smoke'], now }).selected),
    ).toEqual(['basic.users']);
  });

  it('rejects a malformed pattern', () => {
    expect(() => selectTests(tests, { platform: 'qemu', patterns: ['basic.['] })).toThrow(UsageError);
  });

  describe('with a denylist', () => {
    const tracker = 'https://github.com/coreos/bugs/issues/1';
    it('skips matching tests with the reason and the tracker URL', () => {
      const denylist: DenylistEntry[] = [{ pattern: 'basic.u*', reason: 'flaky user creation', tracker }];
      const sel = selectTests(tests, { platform: 'qemu', denylist, now });
      expect(names(sel.selected)).not.toContain('basic.users');
      const skip = sel.skipped.find((s) => s.test.name === 'basic.users');
      expect(skip?.reason).toBe(`denylisted: flaky user creation (${tracker})`);
    });

    it('a snoozed entry skips through its date; after it the test runs again and the expiry is reported', () => {
      const denylist: DenylistEntry[] = [
        { pattern: 'basic.ssh', reason: 'sshd regression', tracker, snooze: '2024-05-15' },
      ];
      const onDate = selectTests(tests, { platform: 'qemu', denylist, now: new Date(2024, 4, 15, 23, 59) });
      expect(onDate.skipped.find((s) => s.test.name === 'basic.ssh')?.reason).toBe(
        `denylisted until 2024-05-15: sshd regression (${tracker})`,
      );
      expect(onDate.expiredSnoozes).toEqual([]);

      const after = selectTests(tests, { platform: 'qemu', denylist, now: new Date(2024, 4, 16, 0, 1) });
      expect(names(after.selected)).toContain('basic.ssh');
      expect(after.skipped.map((s) => s.test.name)).not.toContain('basic.ssh');
      expect(after.expiredSnoozes).toHaveLength(1);
      expect(after.expiredSnoozes[0]!.tests.map((t) => t.name)).toEqual(['basic.ssh']);
      expect(after.expiredSnoozes[0]!.message).toContain('expired on 2024-05-15');
      expect(after.expiredSnoozes[0]!.message).toContain(tracker);
    });

    it('platform-scoped entries apply only on their platforms', () => {
      const denylist: DenylistEntry[] = [{ pattern: 'basic.*', reason: 'broken on gce', platforms: ['gce'] }];
      expect(names(selectTests(tests, { platform: 'qemu', denylist, now }).selected)).toContain('basic.ssh');
      const gce = selectTests(tests, { platform: 'gce', denylist, now });
      expect(names(gce.selected)).not.toContain('basic.ssh');
      expect(names(gce.selected)).not.toContain('basic.users');
      expect(gce.skipped.filter((s) => s.reason.startsWith('denylisted')).map((s) => s.test.name)).toEqual([
        'basic.ssh',
        'basic.users',
      ]);
    });

    it('arch-scoped entries apply only when they list x86_64 (amd64 accepted)', () => {
      const arm: DenylistEntry[] = [{ pattern: 'basic.ssh', reason: 'arm only', arches: ['aarch64'] }];
      expect(names(selectTests(tests, { platform: 'qemu', denylist: arm, now }).selected)).toContain(
        'basic.ssh',
      );
      const x86: DenylistEntry[] = [{ pattern: 'basic.ssh', reason: 'x86', arches: ['amd64', 's390x'] }];
      expect(names(selectTests(tests, { platform: 'qemu', denylist: x86, now }).selected)).not.toContain(
        'basic.ssh',
      );
    });

    it('a platform restriction wins over the denylist as the reported reason', () => {
      const denylist: DenylistEntry[] = [{ pattern: 'aws.metadata', reason: 'denied' }];
      const sel = selectTests(tests, { platform: 'qemu', denylist, now });
      expect(sel.skipped.find((s) => s.test.name === 'aws.metadata')?.reason).toMatch(
        /^not supported on qemu/,
      );
    });
  });
});

describe('platformSkipReason', () => {
  it('is undefined for unrestricted and allowed tests', () => {
    expect(platformSkipReason({ name: 'a' }, 'qemu')).toBeUndefined();
    expect(platformSkipReason({ name: 'a', platforms: { only: ['qemu'] } }, 'qemu')).toBeUndefined();
    expect(platformSkipReason({ name: 'a', platforms: { only: [] } }, 'qemu')).toBeUndefined();
  });
});
