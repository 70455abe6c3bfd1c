import { UsageError } from '@mantle/cluster/errors';

const compiled = new Map<string, RegExp>();

/**
 * Glob match over a whole test name, like Go's `filepath.Match`: `*` matches any run of characters
 * except `/` (so it crosses the dots in `basic.ssh`, but not into a subtest `parent/child`), `?` one
 * such character, `[abc]` / `[a-z]` / `[^a-z]` a class, and `\` escapes the next character. A pattern
 * without glob characters matches only the identical name. A malformed pattern throws UsageError.
 */
export function matchesPattern(name: string, pattern: string): boolean {
  return compileGlob(pattern).test(name);
}

/** Throws UsageError when `pattern` is not a valid glob. */
export function validatePattern(pattern: string): void {
  compileGlob(pattern);
}

/** True when the pattern contains an unescaped glob metacharacter. */
export function hasGlobCharacters(pattern: string): boolean {
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') i++;
    else if (c === '*' || c === '?' || c === '[') return true;
  }
  return false;
}

function compileGlob(pattern: string): RegExp {
  const cached = compiled.get(pattern);
  if (cached) return cached;
  const bad = (why: string) => new UsageError(`bad test name pattern ${JSON.stringify(pattern)}: ${why}`);
  const chars = Array.from(pattern);
  let re = '^';
  let i = 0;
  const escapeChar = (c: string) => c.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
  const escapeClassChar = (c: string) => c.replace(/[\\^\][-]/g, '\\$&');
  // One member of a class (a literal or an escaped character); Go rejects an unescaped '-' or ']'.
  const classChar = (): string => {
    let c = chars[i];
    if (c === undefined) throw bad('unterminated [ character class');
    if (c === '\\') {
      i++;
      c = chars[i];
      if (c === undefined) throw bad('trailing backslash');
    } else if (c === '-' || c === ']') {
      throw bad(`unescaped ${JSON.stringify(c)} in character class`);
    }
    i++;
    return c;
  };
  while (i < chars.length) {
    const c = chars[i]!;
    if (c === '*') {
      re += '[^/]*';
      i++;
    } else if (c === '?') {
      re += '[^/]';
      i++;
    } else if (c === '\\') {
      const next = chars[i + 1];
      if (next === undefined) throw bad('trailing backslash');
      re += escapeChar(next);
      i += 2;
    } else if (c === '[') {
      i++;
      let negated = false;
      if (chars[i] === '^') {
        negated = true;
        i++;
      }
      const ranges: string[] = [];
      for (;;) {
        if (chars[i] === ']' && ranges.length > 0) {
          i++;
          break;
        }
        const lo = classChar();
        let hi = lo;
        if (chars[i] === '-') {
          i++;
          hi = classChar();
          if ((hi.codePointAt(0) ?? 0) < (lo.codePointAt(0) ?? 0)) throw bad(`bad range ${lo}-${hi}`);
        }
        ranges.push(lo === hi ? escapeClassChar(lo) : `${escapeClassChar(lo)}-${escapeClassChar(hi)}`);
      }
      re += negated ? `[^${ranges.join('')}]` : `[${ranges.join('')}]`;
    } else {
      re += escapeChar(c);
      i++;
    }
  }
  const regex = new RegExp(`${re}$`, 'u');
  compiled.set(pattern, regex);
  return regex;
}
