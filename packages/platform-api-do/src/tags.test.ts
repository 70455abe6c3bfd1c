import { describe, expect, it } from 'vitest';
import {
  dropletName,
  expiryTag,
  ownerMatchesRun,
  parseSshKeyName,
  runTag,
  sshKeyFingerprint,
  sshKeyName,
  tagMap,
} from './tags.js';

describe('DigitalOcean names and tags', () => {
  it('fingerprints a key as DigitalOcean does (ssh-keygen -l -E md5)', () => {
    const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFqx+ggyC2Z5lSBeNwjbVAcAM9OE0alHzGUWI1Cgubao root@vm';
    expect(sshKeyFingerprint(key)).toBe('3d:9f:20:09:dc:9b:f2:3d:5e:6b:1f:c7:de:e8:7c:5f');
    expect(() => sshKeyFingerprint('nonsense')).toThrow(/not an OpenSSH public key/);
  });

  it('names keys after their owner with a creation stamp, and reads them back', () => {
    const now = Date.parse('2026-03-01T12:00:00Z');
    expect(sshKeyName('kola-1a2b3c4d', { now })).toBe('kola-1a2b3c4d-t1772366400');
    expect(sshKeyName('ci-77', { now, fake: true })).toBe('kola-ci-77-fake-t1772366400');
    expect(parseSshKeyName('kola-1a2b3c4d-t1772366400')).toEqual({
      owner: 'kola-1a2b3c4d',
      fake: false,
      createdAt: new Date(now),
    });
    expect(parseSshKeyName('kola-ci-77-fake-t1772366400')?.fake).toBe(true);
    expect(parseSshKeyName('kola-ore-0badcafe-t1772366400')?.owner).toBe('kola-ore-0badcafe');
    // mantle's own keys carry no stamp; someone's key is not kola's at all
    expect(parseSshKeyName('kola-6f1c2d8e-1111-2222-3333-444455556666')).toBeUndefined();
    expect(parseSshKeyName('laptop')).toBeUndefined();
  });

  it('matches a key to the droplets of its run', () => {
    expect(ownerMatchesRun('kola-1a2b3c4d', 'kola-1a2b3c4d')).toBe(true);
    expect(ownerMatchesRun('kola-ci-77', 'ci-77')).toBe(true);
    expect(ownerMatchesRun('kola-ci-77', 'ci-78')).toBe(false);
    expect(ownerMatchesRun('kola-ci-77', undefined)).toBe(false);
  });

  it('writes key:value tags in DigitalOcean tag characters and reads them back', () => {
    expect(runTag('kola-1a2b')).toBe('kola-run:kola-1a2b');
    expect(runTag('my run.1')).toBe('kola-run:my_run_1');
    expect(expiryTag('2027-01-31T00:00:00Z')).toBe('expires-at:2027-01-31T00:00:00Z');
    expect(tagMap(['mantle', 'kola-run:kola-1a2b', 'expires-at:2027-01-31T00:00:00Z'])).toEqual({
      mantle: '',
      'kola-run': 'kola-1a2b',
      'expires-at': '2027-01-31T00:00:00Z',
    });
    expect(tagMap(null)).toEqual({});
  });

  it('names droplets <cluster[0:13]>-<10 hex> in droplet-name characters', () => {
    expect(dropletName('kola-0a1b2c3d')).toMatch(/^kola-0a1b2c3d-[0-9a-f]{10}$/);
    expect(dropletName('a_very_long_cluster_name')).toMatch(/^a-very-long-c-[0-9a-f]{10}$/);
    expect(dropletName('kola-abcdefgh-')).toMatch(/^kola-abcdefgh-[0-9a-f]{10}$/);
  });
});
