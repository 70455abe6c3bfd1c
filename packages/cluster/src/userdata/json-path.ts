import type { z } from 'zod';
import { UserDataError } from '../errors.js';

/** JSON paths for error messages, and zod issues turned into UserDataErrors that carry them. */

export type PathSegment = string | number;

/** `$.a.b[0].c`; keys that are not identifiers are bracket-quoted so the path stays unambiguous. */
export function jsonPath(segments: readonly PropertyKey[]): string {
  let out = '$';
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else if (typeof s === 'string' && /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(s)) out += `.${s}`;
    else out += `[${JSON.stringify(String(s))}]`;
  }
  return out;
}

export function describeValue(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'number' && !Number.isInteger(v)) return `the number ${v}`;
  return typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(v)}`;
}

interface Problem {
  path: string;
  message: string;
}

function issueProblem(issue: z.core.$ZodIssue, what: string): Problem {
  const path = [...issue.path];
  let message = issue.message;
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0] ?? '';
    path.push(key);
    message = `unknown key ${JSON.stringify(key)} (${what} rejects unknown keys)`;
  } else if (issue.code === 'invalid_type') {
    const expected = issue.expected === 'int' ? 'an integer' : issue.expected;
    // JSON has no undefined, so an undefined input means the key was absent.
    message =
      issue.input === undefined ? 'required' : `expected ${expected}, got ${describeValue(issue.input)}`;
  }
  return { path: jsonPath(path), message };
}

export function firstIssue(error: z.ZodError, what: string): UserDataError {
  const [first, ...rest] = error.issues;
  if (!first) return new UserDataError(`invalid ${what}`);
  const p = issueProblem(first, what);
  const more = rest.length ? ` (and ${rest.length} more problem${rest.length > 1 ? 's' : ''})` : '';
  return new UserDataError(p.message + more, p.path);
}
