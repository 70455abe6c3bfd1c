import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { UserDataError } from '../errors.js';
import { renderUserData } from './render.js';
import { KEY_A, KEY_B, userDataError } from './test-helpers.js';
import { UserData } from './user-data.js';

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
