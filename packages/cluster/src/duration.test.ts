import { describe, expect, it } from 'vitest';
import { parseDuration } from './duration.js';
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
