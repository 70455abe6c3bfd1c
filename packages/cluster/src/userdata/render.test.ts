import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { UserDataError } from '../errors.js';
import { validateIgnition } from './ignition-checks.js';
import type { IgnitionConfig } from './ignition-schema.js';
import { type RenderedUserData, renderUserData } from './render.js';
import { KEY_A, KEY_B, userDataError } from './test-helpers.js';
import { UserData } from './user-data.js';

function decodeDataUrl(source: string | null | undefined): string {
  const m = /^data:[^,]*;base64,(.*)$/.exec(source ?? '');
  if (!m?.[1]) throw new Error(`not a base64 data URL: ${source}`);
  return Buffer.from(m[1], 'base64').toString('utf8');
}

function reparse(r: RenderedUserData): IgnitionConfig {
  return validateIgnition(JSON.parse(r.toString()));
}

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
