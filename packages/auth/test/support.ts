import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh home directory for a test, with `subdir` (`.config`, `.aws`) made in it. */
export function makeTempHome(subdir: string): string {
  const home = mkdtempSync(join(tmpdir(), 'mantle-auth-'));
  mkdirSync(join(home, subdir));
  return home;
}

/** The error thrown by `fn` (fails the test if nothing is thrown). */
export function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error, none was thrown');
}
