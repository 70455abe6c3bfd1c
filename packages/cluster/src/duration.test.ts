import { describe, expect, it } from 'vitest';
import { expiryFrom, parseDuration } from './duration.js';
import { UsageError } from './errors.js';

describe('parseDuration: the one grammar of kola and ore', () => {
  it.each([
    ['500ms', 500],
    ['90s', 90_000],
    ['10m', 600_000],
    ['1h30m', 5_400_000],
    ['7d', 604_800_000],
    ['2w', 1_209_600_000],
    ['1d12h', 129_600_000],
    ['1.5h', 5_400_000],
    ['30', 30_000],
    [' 5h ', 18_000_000],
  ])('%s is %d ms', (text, ms) => {
    expect(parseDuration(text, '--older-than')).toBe(ms);
  });

  it.each(['soon', '7 d', '5y', '1h-30m', '', 'h'])('"%s" is a UsageError naming the flag', (text) => {
    expect(() => parseDuration(text, '--older-than')).toThrow(UsageError);
    expect(() => parseDuration(text, '--older-than')).toThrow(/^--older-than: ".*" is not a duration/);
  });

  it('refuses zero', () => {
    expect(() => parseDuration('0s', '--timeout')).toThrow('--timeout: duration must be positive');
    expect(() => parseDuration('0', '--timeout')).toThrow('--timeout: duration must be positive');
  });
});

describe('expiryFrom: the expires-at tag of the image verbs', () => {
  const now = Date.parse('2026-05-01T10:00:00.250Z');
  it('adds --expires-in to now, or takes --expires-at, as RFC 3339 without milliseconds', () => {
    expect(expiryFrom({ expiresIn: '7d' }, now)).toBe('2026-05-08T10:00:00Z');
    expect(expiryFrom({ expiresAt: '2027-01-31T00:00:00Z' }, now)).toBe('2027-01-31T00:00:00Z');
    expect(expiryFrom({}, now)).toBeUndefined();
  });
  it('refuses both, a non-date and the past', () => {
    expect(() => expiryFrom({ expiresIn: '1d', expiresAt: '2027-01-01' }, now)).toThrow(/give one of them/);
    expect(() => expiryFrom({ expiresAt: 'soon' }, now)).toThrow(UsageError);
    expect(() => expiryFrom({ expiresAt: '2020-01-01T00:00:00Z' }, now)).toThrow(/in the past/);
  });
});
