import { expect } from 'vitest';
import { UserDataError } from '../errors.js';
import { validateIgnition } from './ignition-checks.js';

/** Fixtures and assertions shared by the userdata tests. */

export const KEY_A = 'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC1 core@default';
export const KEY_B = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB2 other@host';

/** Runs fn and returns the UserDataError it throws (failing the test if it throws anything else). */
export function userDataError(fn: () => unknown): UserDataError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(UserDataError);
    return e as UserDataError;
  }
  throw new Error('expected a UserDataError, but nothing was thrown');
}

export function expectInvalid(config: unknown, path: string, message: RegExp | string): UserDataError {
  const e = userDataError(() => validateIgnition(config));
  expect(e.path).toBe(path);
  expect(e.message).toMatch(message);
  expect(e.exitCode).toBe(2);
  return e;
}

export function ign(version: string, rest: Record<string, unknown> = {}): Record<string, unknown> {
  return { ignition: { version }, ...rest };
}

export function filesConfig(files: unknown[], version = '3.3.0'): Record<string, unknown> {
  return ign(version, { storage: { files } });
}
