import { describe, expect, it } from 'vitest';
import { UserDataError } from '../errors.js';
import { userDataError } from './test-helpers.js';
import { UserData } from './user-data.js';

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
