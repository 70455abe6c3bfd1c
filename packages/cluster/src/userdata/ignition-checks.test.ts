import { describe, expect, it } from 'vitest';
import { dataUrlProblem } from './data-url.js';
import { validateIgnition } from './ignition-checks.js';
import { expectInvalid, filesConfig, ign, KEY_A } from './test-helpers.js';

const SHA512 = `sha512-${'ab'.repeat(64)}`;
const SHA256 = `sha256-${'cd'.repeat(32)}`;

describe('validateIgnition', () => {
  it('accepts a realistic config and returns it typed', () => {
    const cfg = validateIgnition(
      ign('3.3.0', {
        ignition: {
          version: '3.3.0',
          config: { merge: [{ source: 'https://example.com/a.ign', verification: { hash: SHA512 } }] },
          timeouts: { httpTotal: 30 },
        },
        passwd: {
          users: [{ name: 'core', sshAuthorizedKeys: [KEY_A], groups: ['wheel'], uid: 1000, shell: null }],
          groups: [{ name: 'docker', gid: 500 }],
        },
        storage: {
          files: [
            {
              path: '/etc/motd',
              mode: 0o644,
              overwrite: true,
              user: { name: 'core' },
              group: { id: 0 },
              contents: { source: 'data:,hello%20world', compression: '' },
              append: [{ source: 'data:text/plain;charset=utf-8;base64,aGk=' }],
            },
            { path: '/etc/empty' },
          ],
          directories: [{ path: '/var/lib/x', mode: 0o755 }],
          links: [{ path: '/etc/localtime', target: '/usr/share/zoneinfo/UTC', hard: false }],
        },
        systemd: {
          units: [
            { name: 'hello.service', enabled: true, contents: '[Service]\nExecStart=/bin/true\n' },
            { name: 'docker.socket', mask: true },
            { name: 'docker.service', dropins: [{ name: '10-env.conf', contents: '[Service]\n' }] },
          ],
        },
        kernelArguments: { shouldExist: ['quiet'], shouldNotExist: ['debug'] },
      }),
    );
    expect(cfg.passwd?.users?.[0]?.sshAuthorizedKeys).toEqual([KEY_A]);
    expect(cfg.storage?.files?.[0]?.mode).toBe(0o644);
  });

  it('rejects unknown keys with their exact path', () => {
    expectInvalid(
      filesConfig([{ path: '/etc/a', contnts: { source: 'data:,x' } }]),
      '$.storage.files[0].contnts',
      'unknown key "contnts"',
    );
    expectInvalid(ign('3.0.0', { foo: 1 }), '$.foo', 'unknown key "foo"');
    expectInvalid(ign('3.0.0', { 'my-key': 1 }), '$["my-key"]', 'unknown key');
    expectInvalid(
      ign('3.0.0', { systemd: { units: [{ name: 'a.service', enable: true }] } }),
      '$.systemd.units[0].enable',
      'unknown key "enable"',
    );
  });

  it('reports type errors and missing required fields by path', () => {
    expectInvalid(
      ign('3.0.0', { passwd: { users: [{ sshAuthorizedKeys: [] }] } }),
      '$.passwd.users[0].name',
      'required',
    );
    expectInvalid(
      ign('3.0.0', { passwd: { users: [{ name: 'core', sshAuthorizedKeys: KEY_A }] } }),
      '$.passwd.users[0].sshAuthorizedKeys',
      /expected array, got string/,
    );
    expectInvalid(filesConfig([{ mode: 0o644 }]), '$.storage.files[0].path', 'required');
    expectInvalid(
      ign('3.0.0', { storage: { links: [{ path: '/a', hard: 'yes' }] } }),
      '$.storage.links[0].hard',
      'boolean',
    );
  });

  it('checks file modes and paths', () => {
    expectInvalid(
      filesConfig([{ path: '/a', mode: 0o10000 }]),
      '$.storage.files[0].mode',
      'illegal file mode',
    );
    expectInvalid(filesConfig([{ path: '/a', mode: -1 }]), '$.storage.files[0].mode', 'illegal file mode');
    expectInvalid(
      filesConfig([{ path: '/a', mode: 420.5 }]),
      '$.storage.files[0].mode',
      'expected an integer',
    );
    expect(() => validateIgnition(filesConfig([{ path: '/a', mode: 0o7777 }]))).not.toThrow();
    expectInvalid(filesConfig([{ path: 'etc/a' }]), '$.storage.files[0].path', 'path not absolute');
    expectInvalid(filesConfig([{ path: '/etc/../a' }]), '$.storage.files[0].path', 'not fully simplified');
    expectInvalid(filesConfig([{ path: '/etc/a/' }]), '$.storage.files[0].path', 'not fully simplified');
    expectInvalid(
      ign('3.0.0', { storage: { directories: [{ path: 'rel' }] } }),
      '$.storage.directories[0].path',
      'path not absolute',
    );
  });

  it('checks data URLs in contents.source', () => {
    const files = (source: string) =>
      filesConfig([{ path: '/a' }, { path: '/b' }, { path: '/c', contents: { source } }]);
    expectInvalid(
      files('data:;base64,!!!notbase64'),
      '$.storage.files[2].contents.source',
      'not valid base64',
    );
    expectInvalid(files('data:;base64,abcde'), '$.storage.files[2].contents.source', 'not valid base64');
    expectInvalid(files('data:text/plain'), '$.storage.files[2].contents.source', 'no ","');
    expectInvalid(files('data:text plain,x'), '$.storage.files[2].contents.source', 'malformed media type');
    expectInvalid(
      files('data:text/plain;charset,x'),
      '$.storage.files[2].contents.source',
      'malformed parameter',
    );
    expectInvalid(files('data:,100%'), '$.storage.files[2].contents.source', 'malformed %-escape');
    expectInvalid(
      files('ftp://example.com/x'),
      '$.storage.files[2].contents.source',
      'invalid url scheme "ftp"',
    );
    expectInvalid(files('/just/a/path'), '$.storage.files[2].contents.source', 'invalid url scheme');
    expectInvalid(
      filesConfig([{ path: '/a', append: [{ source: 'data:;base64,%' }] }]),
      '$.storage.files[0].append[0].source',
      'data URL',
    );
    for (const ok of [
      'data:,',
      'data:;base64,',
      'data:;base64,aGVsbG8=',
      'data:;base64,aGVsbG8',
      'data:,a%2Cb',
    ]) {
      expect(() => validateIgnition(files(ok)), ok).not.toThrow();
    }
    expect(dataUrlProblem('data:application/octet-stream;base64,AAEC')).toBeUndefined();
  });

  it('checks compression and verification hashes', () => {
    expectInvalid(
      filesConfig([{ path: '/a', contents: { source: 'data:,x', compression: 'xz' } }]),
      '$.storage.files[0].contents.compression',
      'invalid compression',
    );
    expect(() =>
      validateIgnition(
        filesConfig([{ path: '/a', contents: { source: 'data:,x', verification: { hash: SHA512 } } }]),
      ),
    ).not.toThrow();
    const hash = (h: string, version = '3.3.0') =>
      filesConfig(
        [{ path: '/a', contents: { source: 'https://e.com/a', verification: { hash: h } } }],
        version,
      );
    expectInvalid(hash('sha512-abc'), '$.storage.files[0].contents.verification.hash', 'incorrect size');
    expectInvalid(
      hash(`sha512-${'zz'.repeat(64)}`),
      '$.storage.files[0].contents.verification.hash',
      'not hexadecimal',
    );
    expectInvalid(
      hash('md5-abc'),
      '$.storage.files[0].contents.verification.hash',
      'unrecognized hash function',
    );
    expectInvalid(hash('abc'), '$.storage.files[0].contents.verification.hash', 'malformed hash');
    expectInvalid(
      hash(SHA256, '3.0.0'),
      '$.storage.files[0].contents.verification.hash',
      'requires Ignition spec 3.1.0',
    );
    expect(() => validateIgnition(hash(SHA256, '3.1.0'))).not.toThrow();
  });

  it('rejects duplicate paths, units, users and drop-ins', () => {
    expectInvalid(
      filesConfig([{ path: '/a' }, { path: '/b' }, { path: '/a' }]),
      '$.storage.files[2].path',
      'duplicate path /a',
    );
    expectInvalid(
      ign('3.0.0', { storage: { files: [{ path: '/a' }], directories: [{ path: '/a' }] } }),
      '$.storage.directories[0].path',
      'duplicate path /a (also at $.storage.files[0])',
    );
    expectInvalid(
      ign('3.0.0', { systemd: { units: [{ name: 'a.service' }, { name: 'a.service', mask: true }] } }),
      '$.systemd.units[1]',
      'duplicate systemd unit "a.service"',
    );
    expectInvalid(
      ign('3.0.0', { passwd: { users: [{ name: 'core' }, { name: 'core' }] } }),
      '$.passwd.users[1]',
      'duplicate user',
    );
    expectInvalid(
      ign('3.0.0', {
        systemd: { units: [{ name: 'a.service', dropins: [{ name: 'x.conf' }, { name: 'x.conf' }] }] },
      }),
      '$.systemd.units[0].dropins[1]',
      'duplicate drop-in',
    );
  });

  it('checks unit and drop-in names', () => {
    for (const suffix of [
      'service',
      'socket',
      'timer',
      'target',
      'mount',
      'path',
      'slice',
      'scope',
      'automount',
      'swap',
      'device',
    ]) {
      expect(() =>
        validateIgnition(ign('3.0.0', { systemd: { units: [{ name: `x.${suffix}` }] } })),
      ).not.toThrow();
    }
    expectInvalid(
      ign('3.0.0', { systemd: { units: [{ name: 'foo' }] } }),
      '$.systemd.units[0].name',
      'no unit suffix',
    );
    expectInvalid(
      ign('3.0.0', { systemd: { units: [{ name: 'foo.conf' }] } }),
      '$.systemd.units[0].name',
      'invalid systemd unit extension ".conf"',
    );
    expectInvalid(
      ign('3.0.0', { systemd: { units: [{ name: 'a.service', dropins: [{ name: '10-x.txt' }] }] } }),
      '$.systemd.units[0].dropins[0].name',
      'must end in .conf',
    );
  });

  it('enforces other Ignition rules', () => {
    expectInvalid(
      filesConfig([{ path: '/a', overwrite: true }]),
      '$.storage.files[0].overwrite',
      'overwrite must be false',
    );
    expectInvalid(
      filesConfig([{ path: '/a', user: { id: 0, name: 'root' } }]),
      '$.storage.files[0].user',
      'both id and name',
    );
    expectInvalid(
      filesConfig(
        [{ path: '/a', contents: { source: 'data:,x', httpHeaders: [{ name: 'X', value: 'y' }] } }],
        '3.1.0',
      ),
      '$.storage.files[0].contents.httpHeaders',
      'cannot use HTTP headers with this source scheme',
    );
    expectInvalid(
      ign('3.3.0', { kernelArguments: { shouldExist: ['quiet'], shouldNotExist: ['quiet'] } }),
      '$.kernelArguments[1]',
      'duplicate kernel argument "quiet"',
    );
  });

  it('reports the first of several problems and counts the rest', () => {
    const e = expectInvalid(
      filesConfig([{ path: 'a', mode: 'x' }]),
      '$.storage.files[0].path',
      'path not absolute',
    );
    expect(e.message).toMatch(/\(and 1 more problem\)$/);
  });
});
