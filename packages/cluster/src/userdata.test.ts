import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { UserDataError } from './errors.js';
import {
  dataUrlProblem,
  IGNITION_VERSIONS,
  type IgnitionConfig,
  jsonPath,
  type RenderedUserData,
  renderUserData,
  UserData,
  validateIgnition,
} from './userdata.js';

const KEY_A = 'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC1 core@default';
const KEY_B = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB2 other@host';

/** Runs fn and returns the UserDataError it throws (failing the test if it throws anything else). */
function userDataError(fn: () => unknown): UserDataError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(UserDataError);
    return e as UserDataError;
  }
  throw new Error('expected a UserDataError, but nothing was thrown');
}

function expectInvalid(config: unknown, path: string, message: RegExp | string): UserDataError {
  const e = userDataError(() => validateIgnition(config));
  expect(e.path).toBe(path);
  expect(e.message).toMatch(message);
  expect(e.exitCode).toBe(2);
  return e;
}

function ign(version: string, rest: Record<string, unknown> = {}): Record<string, unknown> {
  return { ignition: { version }, ...rest };
}

function filesConfig(files: unknown[], version = '3.3.0'): Record<string, unknown> {
  return ign(version, { storage: { files } });
}

function decodeDataUrl(source: string | null | undefined): string {
  const m = /^data:[^,]*;base64,(.*)$/.exec(source ?? '');
  if (!m?.[1]) throw new Error(`not a base64 data URL: ${source}`);
  return Buffer.from(m[1], 'base64').toString('utf8');
}

function reparse(r: RenderedUserData): IgnitionConfig {
  return validateIgnition(JSON.parse(r.toString()));
}

const SHA512 = `sha512-${'ab'.repeat(64)}`;
const SHA256 = `sha256-${'cd'.repeat(32)}`;

describe('UserData.detect', () => {
  it('treats empty and whitespace-only text as empty', () => {
    expect(UserData.detect('').kind).toBe('empty');
    expect(UserData.detect('  \n\t\n').kind).toBe('empty');
    expect(UserData.empty().kind).toBe('empty');
  });

  it('detects cloud-config by its header line', () => {
    const text = '#cloud-config\nhostname: box\n';
    const ud = UserData.detect(text);
    expect(ud.kind).toBe('cloud-config');
    expect(ud.text).toBe(text);
    expect(UserData.detect('#cloud-config\r\nhostname: box\r\n').kind).toBe('cloud-config');
  });

  it('detects scripts by #!', () => {
    const ud = UserData.detect('#!/bin/bash\necho hi\n');
    expect(ud.kind).toBe('script');
    expect(ud.text).toBe('#!/bin/bash\necho hi\n');
  });

  it('detects Ignition JSON objects and keeps the original text', () => {
    const text = '{ "ignition": { "version": "3.0.0" } }';
    const ud = UserData.detect(text);
    expect(ud.kind).toBe('ignition');
    expect(ud.text).toBe(text);
  });

  it('rejects anything else, naming the source', () => {
    const e = userDataError(() => UserData.detect('hello world'));
    expect(e.message).toBe('userdata is not Ignition JSON, #cloud-config or a #! script');
    expect(e.path).toBe('$');
    expect(e.exitCode).toBe(2);
    expect(userDataError(() => UserData.detect('[1, 2]', 'tests/x.ign')).message).toBe(
      'tests/x.ign: userdata is not Ignition JSON, #cloud-config or a #! script',
    );
    expect(userDataError(() => UserData.detect('{"ignition": ', 'a.ign')).message).toMatch(
      /^a\.ign: userdata is not Ignition JSON.*\(JSON: /,
    );
    // A header that is not alone on the first line is not cloud-config (coreos-cloudinit's rule).
    expect(() => UserData.detect('#cloud-configs\nfoo: 1')).toThrow(/not Ignition JSON/);
  });

  it('validates detected Ignition and names the source next to the JSON path', () => {
    const e = userDataError(() => UserData.detect('{"ignition":{"version":"3.0.0"},"bogus":1}', 'my.ign'));
    expect(e.path).toBe('$.bogus');
    expect(e.message).toBe('$.bogus: my.ign: unknown key "bogus" (Ignition rejects unknown keys)');
  });
});

describe('UserData', () => {
  it('is immutable; subst returns a new value and replaces literally', () => {
    const ud = UserData.script('#!/bin/sh\necho OLD OLD\n');
    expect(Object.isFrozen(ud)).toBe(true);
    const next = ud.subst('OLD', '$& new');
    expect(next.text).toBe('#!/bin/sh\necho $& new $& new\n');
    expect(ud.text).toBe('#!/bin/sh\necho OLD OLD\n');
    expect(next.kind).toBe('script');
    expect(ud.contains('OLD')).toBe(true);
    expect(next.contains('OLD')).toBe(false);
  });

  it('re-validates Ignition after subst', () => {
    const ud = UserData.ignition({ ignition: { version: '3.0.0' } });
    expect(() => ud.subst('3.0.0', '2.2.0')).toThrow(/Ignition spec 2\.2\.0 is not supported/);
  });

  it('rejects scripts without an interpreter line', () => {
    expect(() => UserData.script('echo hi')).toThrow(UserDataError);
  });

  it('rejects invalid Ignition at construction', () => {
    expect(() => UserData.ignition('{not json')).toThrow(/not valid JSON/);
    expect(() => UserData.ignition({ ignition: { version: '3.1.0' }, systemd: { units: [{}] } })).toThrow(
      '$.systemd.units[0].name: required',
    );
  });
});

describe('Ignition versions', () => {
  it.each(IGNITION_VERSIONS)('accepts %s', (version) => {
    expect(UserData.ignition({ ignition: { version } }).kind).toBe('ignition');
    expect(validateIgnition(ign(version)).ignition.version).toBe(version);
  });

  it('rejects 2.x with the supported range', () => {
    const e = expectInvalid(ign('2.2.0'), '$.ignition.version', /Ignition spec 2\.2\.0 is not supported/);
    expect(e.message).toBe('$.ignition.version: Ignition spec 2.2.0 is not supported; use 3.0.0–3.4.0');
  });

  it('rejects newer, experimental, malformed, missing and v1 versions', () => {
    expectInvalid(ign('3.5.0'), '$.ignition.version', 'Ignition spec 3.5.0 is not supported');
    expectInvalid(ign('3.4.0-experimental'), '$.ignition.version', 'not supported');
    expectInvalid(ign('three'), '$.ignition.version', 'invalid Ignition spec version "three"');
    expectInvalid({ ignition: {} }, '$.ignition.version', 'required');
    expectInvalid({ ignition: { version: 3 } }, '$.ignition.version', 'expected string, got number 3');
    expectInvalid({}, '$.ignition', 'required');
    expectInvalid({ ignitionVersion: 1 }, '$.ignitionVersion', 'Ignition spec 1 is not supported');
    expectInvalid([], '$', 'must be a JSON object');
  });
});

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

describe('version gates', () => {
  it('kernelArguments needs 3.3.0', () => {
    const karg = (v: string) => ign(v, { kernelArguments: { shouldExist: ['quiet'] } });
    expectInvalid(
      karg('3.2.0'),
      '$.kernelArguments',
      'kernelArguments requires Ignition spec 3.3.0 or newer; this config declares 3.2.0',
    );
    expect(() => validateIgnition(karg('3.3.0'))).not.toThrow();
    expect(() => validateIgnition(karg('3.4.0'))).not.toThrow();
  });

  it('passwd.users[].shouldExist and groups[].shouldExist need 3.2.0', () => {
    const user = (v: string) =>
      ign(v, { passwd: { users: [{ name: 'core' }, { name: 'old', shouldExist: false }] } });
    expectInvalid(user('3.1.0'), '$.passwd.users[1].shouldExist', 'requires Ignition spec 3.2.0');
    expect(() => validateIgnition(user('3.2.0'))).not.toThrow();
    expectInvalid(
      ign('3.0.0', { passwd: { groups: [{ name: 'g', shouldExist: true }] } }),
      '$.passwd.groups[0].shouldExist',
      'requires Ignition spec 3.2.0',
    );
  });

  it('contents.httpHeaders needs 3.1.0', () => {
    const headers = (v: string) =>
      filesConfig(
        [{ path: '/a', contents: { source: 'https://e.com/x', httpHeaders: [{ name: 'A', value: 'b' }] } }],
        v,
      );
    expectInvalid(
      headers('3.0.0'),
      '$.storage.files[0].contents.httpHeaders',
      'requires Ignition spec 3.1.0',
    );
    expect(() => validateIgnition(headers('3.1.0'))).not.toThrow();
  });

  it('gates other newer features', () => {
    expectInvalid(ign('3.0.0', { ignition: { version: '3.0.0', proxy: {} } }), '$.ignition.proxy', '3.1.0');
    expectInvalid(
      ign('3.0.0', {
        ignition: { version: '3.0.0', config: { replace: { source: 'data:,{}', compression: 'gzip' } } },
      }),
      '$.ignition.config.replace.compression',
      '3.1.0',
    );
    expectInvalid(ign('3.1.0', { storage: { luks: [{ name: 'root' }] } }), '$.storage.luks', '3.2.0');
    expectInvalid(
      ign('3.3.0', { storage: { luks: [{ name: 'root', device: '/dev/sda', discard: true }] } }),
      '$.storage.luks[0].discard',
      '3.4.0',
    );
    expect(() =>
      validateIgnition(ign('3.4.0', { storage: { luks: [{ name: 'root', discard: true }] } })),
    ).not.toThrow();
    expectInvalid(
      filesConfig([{ path: '/a', contents: { source: 'gs://bucket/x' } }], '3.1.0'),
      '$.storage.files[0].contents.source',
      '3.2.0',
    );
  });
});

describe('renderUserData: Ignition', () => {
  const base = {
    ignition: { version: '3.1.0' },
    passwd: { users: [{ name: 'core', sshAuthorizedKeys: [KEY_A], groups: ['docker'] }, { name: 'bob' }] },
  };

  it('appends keys to the existing core user without duplicates', () => {
    const r = renderUserData(UserData.ignition(base), { sshKeys: [KEY_A, `${KEY_B}\n`, KEY_B] });
    expect(r.kind).toBe('ignition');
    const users = reparse(r).passwd?.users ?? [];
    expect(users).toHaveLength(2);
    expect(users[0]).toEqual({ name: 'core', sshAuthorizedKeys: [KEY_A, KEY_B], groups: ['docker'] });
    expect(users[1]).toEqual({ name: 'bob' });
  });

  it('creates the user when missing, for a custom user too', () => {
    const r = renderUserData(UserData.ignition({ ignition: { version: '3.0.0' } }), { sshKeys: [KEY_A] });
    expect(reparse(r).passwd?.users).toEqual([{ name: 'core', sshAuthorizedKeys: [KEY_A] }]);
    const alice = renderUserData(UserData.ignition(base), { sshKeys: [KEY_B], user: 'alice' });
    const users = reparse(alice).passwd?.users ?? [];
    expect(users.map((u) => u.name)).toEqual(['core', 'bob', 'alice']);
    expect(users[0]?.sshAuthorizedKeys).toEqual([KEY_A]);
    expect(users[2]?.sshAuthorizedKeys).toEqual([KEY_B]);
  });

  it('injects nothing with injectKeys false', () => {
    const r = renderUserData(UserData.ignition({ ignition: { version: '3.0.0' } }), {
      sshKeys: [KEY_A],
      injectKeys: false,
    });
    expect(JSON.parse(r.toString())).toEqual({ ignition: { version: '3.0.0' } });
  });

  it('does not mutate the source UserData', () => {
    const ud = UserData.ignition(base);
    const before = ud.text;
    renderUserData(ud, { sshKeys: [KEY_B] }).addFile('/etc/x', 'x');
    expect(ud.text).toBe(before);
    expect(renderUserData(ud, { sshKeys: [], injectKeys: false }).ignition?.storage).toBeUndefined();
  });

  it('renders empty userdata as minimal Ignition 3.3.0 carrying the keys', () => {
    const r = renderUserData(UserData.empty(), { sshKeys: [KEY_A, KEY_B] });
    expect(r.kind).toBe('ignition');
    expect(JSON.parse(r.toString())).toEqual({
      ignition: { version: '3.3.0' },
      passwd: { users: [{ name: 'core', sshAuthorizedKeys: [KEY_A, KEY_B] }] },
    });
    expect(renderUserData(UserData.detect('  '), { sshKeys: [], injectKeys: false }).toString()).toBe(
      '{"ignition":{"version":"3.3.0"}}',
    );
  });

  it('substitutes vars in the source text before parsing, literally', () => {
    const ud = UserData.ignition({
      ignition: { version: '3.0.0' },
      systemd: {
        units: [
          { name: 'ip.service', contents: 'ExecStart=/bin/echo $public_ipv4 $private_ipv4 $public_ipv4' },
        ],
      },
    });
    // A systemd-style variable reference, as the AWS platform passes it.
    const ec2Public = '$' + '{COREOS_EC2_IPV4_PUBLIC}';
    const r = renderUserData(ud, { sshKeys: [], vars: { $public_ipv4: ec2Public, $private_ipv4: '$&-$1' } });
    expect(r.ignition?.systemd?.units?.[0]?.contents).toBe(
      `ExecStart=/bin/echo ${ec2Public} $&-$1 ${ec2Public}`,
    );
  });

  it('sets the hostname as /etc/hostname 0644', () => {
    const r = renderUserData(UserData.empty(), { sshKeys: [], hostname: 'kola-1' });
    const file = reparse(r).storage?.files?.find((f) => f.path === '/etc/hostname');
    expect(file?.mode).toBe(0o644);
    expect(file?.overwrite).toBe(true);
    expect(decodeDataUrl(file?.contents?.source)).toBe('kola-1\n');
    expect(() => renderUserData(UserData.empty(), { sshKeys: [], hostname: 'bad_name!' })).toThrow(
      /invalid hostname/,
    );
  });

  it('round-trips addFile, addSystemdUnit and addSystemdDropin through toString', () => {
    const r = renderUserData(
      UserData.ignition({
        ignition: { version: '3.2.0' },
        storage: { files: [{ path: '/etc/keep', contents: { source: 'data:,keep' } }, { path: '/etc/x' }] },
        systemd: { units: [{ name: 'docker.service', dropins: [{ name: '00-old.conf', contents: 'old' }] }] },
      }),
      { sshKeys: [KEY_A] },
    );
    r.addFile('/etc/x', 'first')
      .addFile('/etc/x', 'second line\n', 0o600)
      .addFile('/opt/bin/tool', Buffer.from([0xff, 0x00, 0x41]), 0o755)
      .addSystemdUnit('hello.service', '[Service]\nExecStart=/bin/true\n', { enabled: true })
      .addSystemdUnit('quiet.service', '[Unit]\n')
      .addSystemdDropin('docker.service', '10-kola.conf', '[Service]\nEnvironment=A=1\n')
      .addSystemdDropin('docker.service', '10-kola.conf', '[Service]\nEnvironment=A=2\n')
      .addSystemdDropin('new.service', '20-x.conf', '[Unit]\n');
    r.validate();

    const cfg = reparse(r);
    const files = cfg.storage?.files ?? [];
    expect(files.map((f) => f.path)).toEqual(['/etc/keep', '/etc/x', '/opt/bin/tool']);
    expect(files[1]).toMatchObject({ mode: 0o600, overwrite: true });
    expect(files[1]?.contents?.source).toMatch(/^data:;base64,/);
    expect(decodeDataUrl(files[1]?.contents?.source)).toBe('second line\n');
    const bin = /base64,(.*)$/.exec(files[2]?.contents?.source ?? '')?.[1] ?? '';
    expect([...Buffer.from(bin, 'base64')]).toEqual([0xff, 0x00, 0x41]);
    expect(files[2]?.mode).toBe(0o755);

    const units = cfg.systemd?.units ?? [];
    expect(units.map((u) => u.name)).toEqual([
      'docker.service',
      'hello.service',
      'quiet.service',
      'new.service',
    ]);
    expect(units[0]?.dropins).toEqual([
      { name: '00-old.conf', contents: 'old' },
      { name: '10-kola.conf', contents: '[Service]\nEnvironment=A=2\n' },
    ]);
    expect(units[1]).toEqual({
      name: 'hello.service',
      contents: '[Service]\nExecStart=/bin/true\n',
      enabled: true,
    });
    expect(units[2]).not.toHaveProperty('enabled');
    expect(units[3]).toEqual({ name: 'new.service', dropins: [{ name: '20-x.conf', contents: '[Unit]\n' }] });
    expect(cfg.passwd?.users?.[0]?.sshAuthorizedKeys).toEqual([KEY_A]);
  });

  it('replaces an existing unit but keeps its drop-ins', () => {
    const r = renderUserData(UserData.empty(), { sshKeys: [] });
    r.addSystemdDropin('a.service', 'x.conf', 'X').addSystemdUnit('a.service', 'new', { mask: true });
    expect(r.ignition?.systemd?.units).toEqual([
      { name: 'a.service', dropins: [{ name: 'x.conf', contents: 'X' }], contents: 'new', mask: true },
    ]);
  });

  it('rejects bad helper arguments eagerly', () => {
    const r = renderUserData(UserData.empty(), { sshKeys: [] });
    expect(() => r.addFile('etc/x', 'x')).toThrow(UserDataError);
    expect(() => r.addFile('/etc/x', 'x', 0o10000)).toThrow(/outside/);
    expect(() => r.addSystemdUnit('hello', 'x')).toThrow(/no unit suffix/);
    expect(() => r.addSystemdDropin('a.service', 'x.txt', 'x')).toThrow(/\.conf/);
  });

  it('validate() catches direct edits to the ignition object', () => {
    const r = renderUserData(UserData.empty(), { sshKeys: [] });
    r.ignition!.storage = { files: [{ path: 'relative' }] };
    const e = userDataError(() => r.validate());
    expect(e.path).toBe('$.storage.files[0].path');
  });
});

describe('renderUserData: cloud-config', () => {
  const text = [
    '#cloud-config',
    '# a comment',
    'hostname: old-$private_ipv4',
    'ssh_authorized_keys:',
    `  - ${KEY_A}`,
    'packages: [vim, "yes"]',
    'runcmd:',
    '  - echo hi',
    '  - [ls, -l, /]',
    '',
  ].join('\n');

  it('appends keys to ssh_authorized_keys without duplicates and keeps unknown keys', () => {
    const r = renderUserData(UserData.cloudConfig(text), { sshKeys: [KEY_A, KEY_B] });
    expect(r.kind).toBe('cloud-config');
    const out = r.toString();
    expect(out.startsWith('#cloud-config\n')).toBe(true);
    const doc = parseYaml(out, { version: '1.1' });
    expect(doc.ssh_authorized_keys).toEqual([KEY_A, KEY_B]);
    expect(doc.packages).toEqual(['vim', 'yes']);
    expect(doc.runcmd).toEqual(['echo hi', ['ls', '-l', '/']]);
    // The rendered text is itself valid cloud-config.
    expect(UserData.detect(out).kind).toBe('cloud-config');
  });

  it('creates ssh_authorized_keys when absent and honours injectKeys false', () => {
    const r = renderUserData(UserData.cloudConfig('#cloud-config\n'), { sshKeys: [KEY_B] });
    expect(r.cloudConfig?.ssh_authorized_keys).toEqual([KEY_B]);
    const none = renderUserData(UserData.cloudConfig('#cloud-config\n'), {
      sshKeys: [KEY_B],
      injectKeys: false,
    });
    expect(none.cloudConfig?.ssh_authorized_keys).toBeUndefined();
  });

  it('substitutes vars and sets the hostname', () => {
    const r = renderUserData(UserData.cloudConfig(text), {
      sshKeys: [],
      vars: { $private_ipv4: '10.0.0.1' },
    });
    expect(r.cloudConfig?.hostname).toBe('old-10.0.0.1');
    const h = renderUserData(UserData.cloudConfig(text), { sshKeys: [], hostname: 'kola-2' });
    expect(parseYaml(h.toString()).hostname).toBe('kola-2');
  });

  it('writes files as b64 write_files with octal permissions', () => {
    const r = renderUserData(UserData.cloudConfig(text), { sshKeys: [] });
    r.addFile('/etc/a', 'hello\n').addFile('/etc/b', 'x', 0o755).addFile('/etc/a', 'again\n', 0o600);
    r.validate();
    const doc = parseYaml(r.toString(), { version: '1.1' });
    expect(doc.write_files).toEqual([
      {
        path: '/etc/a',
        content: Buffer.from('again\n').toString('base64'),
        encoding: 'b64',
        permissions: '0600',
      },
      { path: '/etc/b', content: Buffer.from('x').toString('base64'), encoding: 'b64', permissions: '0755' },
    ]);
  });

  it('refuses systemd units', () => {
    const r = renderUserData(UserData.cloudConfig(text), { sshKeys: [] });
    expect(() => r.addSystemdUnit('a.service', '')).toThrow(UserDataError);
    expect(() => r.addSystemdDropin('a.service', 'a.conf', '')).toThrow(UserDataError);
    expect(r.ignition).toBeUndefined();
  });

  it('validates the keys it models', () => {
    const bad = (body: string, path: string, msg: RegExp | string) => {
      const e = userDataError(() => UserData.cloudConfig(`#cloud-config\n${body}`));
      expect(e.path).toBe(path);
      expect(e.message).toMatch(msg);
    };
    bad(
      'write_files:\n  - path: /a\n    encoding: gzip\n    content: x\n',
      '$.write_files[0].encoding',
      /gzip.*not supported/,
    );
    bad('write_files:\n  - path: /a\n    encoding: rot13\n', '$.write_files[0].encoding', 'unknown encoding');
    bad(
      'write_files:\n  - path: /a\n    encoding: b64\n    content: "!!"\n',
      '$.write_files[0].content',
      'base64',
    );
    bad(
      'write_files:\n  - path: /a\n    permissions: "rw-r--r--"\n',
      '$.write_files[0].permissions',
      'octal',
    );
    bad('write_files:\n  - content: x\n', '$.write_files[0].path', 'required');
    bad('write_files:\n  - path: rel\n', '$.write_files[0].path', 'not absolute');
    bad(`ssh_authorized_keys: ${KEY_A}\n`, '$.ssh_authorized_keys', 'expected array');
    bad('hostname: [a]\n', '$.hostname', 'expected string');
    bad('runcmd:\n  - 1\n', '$.runcmd[0]', 'runcmd entries');
    bad('- a\n- b\n', '$', 'must be a YAML mapping');
    bad('a: [\n', '$', 'not valid YAML');
    // YAML 1.1, like cloud-init: unquoted 0644 is an octal number and is accepted.
    expect(
      UserData.cloudConfig('#cloud-config\nwrite_files:\n  - path: /a\n    permissions: 0644\n').kind,
    ).toBe('cloud-config');
  });
});

describe('renderUserData: script', () => {
  const script =
    '#!/bin/bash\nset -e\ncat >> ~/.ssh/authorized_keys <<EOF\n@SSH_KEYS@\nEOF\necho $public_ipv4\n';

  it('replaces @SSH_KEYS@ with newline-joined keys and leaves vars alone', () => {
    const r = renderUserData(UserData.script(script), {
      sshKeys: [KEY_A, KEY_B],
      vars: { $public_ipv4: 'X' },
    });
    expect(r.kind).toBe('script');
    expect(r.toString()).toBe(
      `#!/bin/bash\nset -e\ncat >> ~/.ssh/authorized_keys <<EOF\n${KEY_A}\n${KEY_B}\nEOF\necho $public_ipv4\n`,
    );
  });

  it('leaves the placeholder with injectKeys false', () => {
    expect(renderUserData(UserData.script(script), { sshKeys: [KEY_A], injectKeys: false }).toString()).toBe(
      script,
    );
  });

  it('cannot carry files, units or a hostname', () => {
    const r = renderUserData(UserData.script(script), { sshKeys: [] });
    expect(() => r.addFile('/etc/a', 'x')).toThrow(/script userdata cannot carry files/);
    expect(() => r.addSystemdUnit('a.service', 'x')).toThrow(UserDataError);
    expect(() => renderUserData(UserData.script(script), { sshKeys: [], hostname: 'h' })).toThrow(
      UserDataError,
    );
    expect(r.ignition).toBeUndefined();
  });
});

describe('jsonPath', () => {
  it('formats identifiers, indexes and odd keys', () => {
    expect(jsonPath([])).toBe('$');
    expect(jsonPath(['storage', 'files', 2, 'contents', 'source'])).toBe(
      '$.storage.files[2].contents.source',
    );
    expect(jsonPath(['a b', 0])).toBe('$["a b"][0]');
  });
});
