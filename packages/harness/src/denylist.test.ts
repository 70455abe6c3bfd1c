import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@mantle/cluster';
import { describe, expect, it } from 'vitest';
import {
  type DenylistEntry,
  denylistEntryApplies,
  describeDenylistSkip,
  evaluateDenylist,
  loadDenylist,
  parseDenylist,
  snoozeState,
} from './denylist.js';

const parseError = (text: string): ConfigError => {
  try {
    parseDenylist(text, 'denylist.yaml');
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError');
};

describe('parseDenylist', () => {
  it('parses a coreos-assembler style file', () => {
    const entries = parseDenylist(
      `# known failures
- pattern: coreos.ignition.*
  reason: metadata service flakes
  tracker: https://github.com/coreos/fedora-coreos-tracker/issues/123
  snooze: 2024-06-01
  platforms: [aws, gce]
  arches:
    - x86_64
- pattern: basic.ssh
  reason: "sshd #42"
`,
      'denylist.yaml',
    );
    expect(entries).toEqual([
      {
        pattern: 'coreos.ignition.*',
        reason: 'metadata service flakes',
        tracker: 'https://github.com/coreos/fedora-coreos-tracker/issues/123',
        snooze: '2024-06-01',
        platforms: ['aws', 'gce'],
        arches: ['x86_64'],
        source: 'denylist.yaml: entry 1',
      },
      { pattern: 'basic.ssh', reason: 'sshd #42', source: 'denylist.yaml: entry 2' },
    ]);
  });

  it('an empty file or a file of comments is an empty denylist', () => {
    expect(parseDenylist('', 'd.yaml')).toEqual([]);
    expect(parseDenylist('# nothing denied\n', 'd.yaml')).toEqual([]);
    expect(parseDenylist('[]\n', 'd.yaml')).toEqual([]);
  });

  it('names the file, the entry and the missing field', () => {
    const e = parseError('- pattern: a.b\n  reason: ok\n- pattern: basic.ssh\n');
    expect(e.message).toBe('denylist.yaml: entry 2: "reason" is required (line 3)');
  });

  it('reports every problem, one per line', () => {
    const e = parseError(
      [
        '- pattern: a',
        '  reason: ""',
        '- pattern: b',
        '  reason: r',
        '  tracker: not a url',
        '- pattern: c',
        '  reason: r',
        '  snooze: 2024-02-30',
        '- pattern: "d["',
        '  reason: r',
        '- pattern: e',
        '  reason: r',
        '  platfroms: [aws]',
        '- pattern: f',
        '  reason: r',
        '  platforms: aws',
        '- just-a-string',
      ].join('\n'),
    );
    const lines = e.message.split('\n');
    expect(lines).toEqual([
      'denylist.yaml: entry 1: "reason" must not be empty (line 2)',
      'denylist.yaml: entry 2: "tracker" must be an http(s) URL (line 5)',
      'denylist.yaml: entry 3: "snooze" must be a date written YYYY-MM-DD (line 8)',
      'denylist.yaml: entry 4: "pattern" is not a valid test name pattern (line 9)',
      'denylist.yaml: entry 5: unknown field "platfroms" (allowed: pattern, reason, tracker, snooze, platforms, arches) (line 11)',
      'denylist.yaml: entry 6: "platforms" must be a list (line 16)',
      'denylist.yaml: entry 7: must be a mapping with "pattern" and "reason" (line 17)',
    ]);
  });

  it('reports YAML syntax errors with their line', () => {
    const e = parseError('- pattern: a\n  reason: [unclosed\n- pattern: b\n');
    expect(e.message).toMatch(/^denylist\.yaml: YAML syntax error at line \d+, column \d+: /);
    const dup = parseError('- pattern: a\n  pattern: b\n  reason: r\n');
    expect(dup.message).toMatch(/^denylist\.yaml: YAML syntax error at line 2/);
  });

  it('refuses a top level that is not a list', () => {
    expect(parseError('pattern: a\nreason: b\n').message).toBe(
      'denylist.yaml: the denylist must be a YAML list of entries',
    );
  });
});

describe('loadDenylist', () => {
  it('reads a file and names it in errors', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'denylist-'));
    try {
      const good = join(dir, 'good.yaml');
      writeFileSync(good, '- pattern: a.*\n  reason: because\n');
      expect(loadDenylist(good)).toEqual([{ pattern: 'a.*', reason: 'because', source: `${good}: entry 1` }]);
      const bad = join(dir, 'bad.yaml');
      writeFileSync(bad, '- pattern: a.*\n');
      expect(() => loadDenylist(bad)).toThrow(`${bad}: entry 1: "reason" is required`);
      expect(() => loadDenylist(join(dir, 'missing.yaml'))).toThrow(ConfigError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('denylist evaluation', () => {
  const entry = (e: Partial<DenylistEntry>): DenylistEntry => ({ pattern: '*', reason: 'r', ...e });

  it('snoozeState is inclusive of the snooze date (local calendar)', () => {
    const e = entry({ snooze: '2024-05-15' });
    expect(snoozeState(entry({}), new Date(2030, 0, 1))).toBe('none');
    expect(snoozeState(e, new Date(2024, 4, 14, 12))).toBe('active');
    expect(snoozeState(e, new Date(2024, 4, 15, 23, 59, 59))).toBe('active');
    expect(snoozeState(e, new Date(2024, 4, 16, 0, 0, 0))).toBe('expired');
  });

  it('scopes by platform and arch', () => {
    expect(denylistEntryApplies(entry({ platforms: ['aws'] }), { platform: 'qemu' })).toBe(false);
    expect(denylistEntryApplies(entry({ platforms: ['aws'] }), { platform: 'aws' })).toBe(true);
    expect(denylistEntryApplies(entry({ arches: ['ppc64le'] }), { platform: 'aws' })).toBe(false);
    expect(denylistEntryApplies(entry({ arches: ['x86_64'] }), { platform: 'aws' })).toBe(true);
    expect(denylistEntryApplies(entry({ arches: ['aarch64'] }), { platform: 'aws', arch: 'arm64' })).toBe(
      true,
    );
  });

  it('evaluateDenylist returns the first active entry and all expired ones', () => {
    const now = new Date(2024, 4, 20);
    const expired = entry({ pattern: 'basic.*', snooze: '2024-05-01' });
    const active = entry({ pattern: 'basic.ssh', reason: 'active one' });
    const other = entry({ pattern: 'other.*' });
    const res = evaluateDenylist('basic.ssh', [expired, other, active], { platform: 'qemu', now });
    expect(res.active).toBe(active);
    expect(res.expired).toEqual([expired]);
    expect(evaluateDenylist('basic.users', [expired], { platform: 'qemu', now }).active).toBeUndefined();
  });

  it('describeDenylistSkip includes reason, tracker and snooze', () => {
    expect(describeDenylistSkip(entry({ reason: 'flaky' }))).toBe('denylisted: flaky');
    expect(
      describeDenylistSkip(entry({ reason: 'flaky', tracker: 'https://x/1', snooze: '2024-01-02' })),
    ).toBe('denylisted until 2024-01-02: flaky (https://x/1)');
  });
});
