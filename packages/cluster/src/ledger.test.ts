import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from './errors.js';
import { Ledger, ledgerKey, readLedger } from './ledger.js';

describe('Ledger', () => {
  let dir: string;
  let path: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kola-ledger-test-'));
    path = join(dir, 'ledger.jsonl');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('records created and destroyed resources; alive() is what has no destroy line', () => {
    const ledger = Ledger.open(path);
    const a = ledger.created({
      platform: 'aws',
      kind: 'instance',
      id: 'i-1',
      location: 'us-east-1',
      test: 'basic',
    });
    const b = ledger.created({
      platform: 'aws',
      kind: 'key-pair',
      id: 'kola-abc',
      data: { fingerprint: 'x' },
    });
    expect(a).toBe('aws/instance/us-east-1/i-1');
    expect(b).toBe('aws/key-pair/kola-abc');
    expect(ledger.alive().map((e) => e.key)).toEqual([a, b]);
    ledger.destroyed(a);
    const entries = ledger.entries();
    expect(entries.find((e) => e.key === a)?.destroyedAt).toMatch(/^\d{4}-/);
    expect(ledger.alive()).toEqual([
      expect.objectContaining({
        key: b,
        platform: 'aws',
        kind: 'key-pair',
        id: 'kola-abc',
        data: { fingerprint: 'x' },
      }),
    ]);
    ledger.close();
    // a new process reading the same file sees the same state, and can append to it
    const again = Ledger.open(path);
    again.destroyed(b);
    expect(again.alive()).toEqual([]);
    again.close();
    expect(readLedger(path)).toHaveLength(2);
  });

  it('writes each event as one JSON line', () => {
    const ledger = Ledger.open(path);
    ledger.created({ platform: 'fake', kind: 'machine', id: 'fake-1' });
    ledger.destroyed('fake/machine/fake-1');
    ledger.close();
    const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { event: string }).event)).toEqual(['create', 'destroy']);
  });

  it('ledgerKey leaves out an empty location', () => {
    expect(ledgerKey({ platform: 'gce', kind: 'image', id: 'img', location: '' })).toBe('gce/image/img');
  });

  it('ignores a torn last line (crash mid-write)', () => {
    const ledger = Ledger.open(path);
    ledger.created({ platform: 'fake', kind: 'machine', id: 'fake-1' });
    ledger.close();
    appendFileSync(path, '{"event":"create","time":"2024-01-01T00:00:00Z","key":"fake/mach');
    expect(readLedger(path).map((e) => e.id)).toEqual(['fake-1']);
  });

  it('stays readable when appending after a torn last line', () => {
    const ledger = Ledger.open(path);
    ledger.created({ platform: 'fake', kind: 'machine', id: 'fake-1' });
    ledger.close();
    appendFileSync(path, '{"event":"create","time":"2024-01-01T00:00:00Z","key":"fake/mach');
    const cleanup = Ledger.open(path);
    cleanup.destroyed('fake/machine/fake-1');
    expect(cleanup.alive()).toEqual([]);
    cleanup.close();
  });

  it('keeps a complete last line that only lacks its newline', () => {
    const ledger = Ledger.open(path);
    ledger.created({ platform: 'fake', kind: 'machine', id: 'fake-1' });
    ledger.close();
    writeFileSync(path, readFileSync(path, 'utf8').trimEnd());
    const again = Ledger.open(path);
    again.created({ platform: 'fake', kind: 'machine', id: 'fake-2' });
    expect(again.alive().map((e) => e.id)).toEqual(['fake-1', 'fake-2']);
    again.close();
  });

  it('a bad line in the middle is a ConfigError naming the file and line', () => {
    writeFileSync(
      path,
      [
        JSON.stringify({
          event: 'create',
          time: 't',
          key: 'fake/machine/a',
          platform: 'fake',
          kind: 'machine',
          id: 'a',
        }),
        'garbage',
        JSON.stringify({ event: 'destroy', time: 't', key: 'fake/machine/a' }),
        '',
      ].join('\n'),
    );
    expect(() => readLedger(path)).toThrow(ConfigError);
    expect(() => readLedger(path)).toThrow(`${path}:2: not a JSON ledger line`);
  });

  it('a missing ledger is a ConfigError', () => {
    expect(() => readLedger(join(dir, 'nope.jsonl'))).toThrow(/no ledger at/);
  });
});
