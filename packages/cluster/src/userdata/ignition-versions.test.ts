import { describe, expect, it } from 'vitest';
import { validateIgnition } from './ignition-checks.js';
import { IGNITION_VERSIONS } from './ignition-schema.js';
import { expectInvalid, filesConfig, ign } from './test-helpers.js';
import { UserData } from './user-data.js';

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
