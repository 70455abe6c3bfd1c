import { sleep, TimeoutError, UsageError } from '@mantle/cluster';
import type { z } from 'zod';
import { type AwsOptions, awsOptions } from '../options.js';
import { ownerTag } from '../tags.js';

/** Validates a verb's options (the CLI did already; direct callers may not have) as a UsageError. */
export function parseVerbOptions<S extends z.ZodType>(schema: S, raw: unknown): z.output<S> {
  const parsed = schema.safeParse(raw ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const key = String(issue.path[0] ?? '');
  throw new UsageError(`--${key.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase()}: ${issue.message}`);
}

export function parsePlatformOptions(raw: unknown): AwsOptions {
  const parsed = awsOptions.safeParse(raw ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw new UsageError(`--aws-${String(issue.path[0] ?? '')}: ${issue.message}`);
}

/** `k=v,k2=v2` (mantle's --tags). Values may contain `=`; keys may not be empty. */
export function parseTags(text: string | undefined, flag = '--tags'): Record<string, string> {
  const tags: Record<string, string> = {};
  if (!text) return tags;
  for (const pair of text.split(',')) {
    const eq = pair.indexOf('=');
    const key = eq < 0 ? '' : pair.slice(0, eq).trim();
    if (eq < 0 || !key) throw new UsageError(`${flag} "${text}": "${pair}" is not key=value`);
    if (key === ownerTag.key)
      throw new UsageError(`${flag}: ${ownerTag.key} is set by ore itself and cannot be given`);
    if (key.toLowerCase().startsWith('aws:'))
      throw new UsageError(`${flag}: tag keys starting with "aws:" are reserved by AWS`);
    tags[key] = pair.slice(eq + 1).trim();
  }
  return tags;
}

const durationUnits: Record<string, number> = {
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/** `90s`, `30m`, `12h`, `7d`, `2w`, or combinations such as `1d12h`. */
export function parseDuration(text: string, flag: string): number {
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)([smhdw])/g)];
  if (!parts.length || parts.map((m) => m[0]).join('') !== text.trim())
    throw new UsageError(`${flag} "${text}": not a duration (use e.g. 90m, 12h, 7d, 2w)`);
  return parts.reduce((ms, m) => ms + Number(m[1]) * durationUnits[m[2]!]!, 0);
}

/** The `expires-at` tag value (RFC 3339 UTC, no milliseconds) from --expires-in or --expires-at. */
export function expiryFrom(
  options: { expiresIn?: string | undefined; expiresAt?: string | undefined },
  now = Date.now(),
): string | undefined {
  if (options.expiresIn && options.expiresAt)
    throw new UsageError('--expires-in and --expires-at: give one of them, not both');
  let at: number | undefined;
  if (options.expiresIn) at = now + parseDuration(options.expiresIn, '--expires-in');
  if (options.expiresAt) {
    const parsed = Date.parse(options.expiresAt);
    if (!/^\d{4}-\d{2}-\d{2}/.test(options.expiresAt) || Number.isNaN(parsed))
      throw new UsageError(
        `--expires-at "${options.expiresAt}": not a date (use RFC 3339, e.g. 2027-01-31T00:00:00Z)`,
      );
    if (parsed <= now) throw new UsageError(`--expires-at ${options.expiresAt}: that is in the past`);
    at = parsed;
  }
  return at === undefined ? undefined : new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** `s3://bucket/some/prefix` → bucket and key prefix (without leading or trailing slash). */
export function parseS3Url(url: string, flag: string): { bucket: string; key: string } {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(url);
  if (!m) throw new UsageError(`${flag} "${url}": not an S3 URL (s3://bucket/prefix)`);
  return { bucket: m[1]!, key: (m[2] ?? '').replace(/^\/+|\/+$/g, '') };
}

/** The staging bucket `ore aws initialize` makes by default, and `ore aws upload` uses by default. */
export function defaultBucket(account: string, region: string): string {
  return `kola-images-${account}-${region}`;
}

export const managedTags = (extra: Record<string, string>): Record<string, string> => ({
  [ownerTag.key]: ownerTag.value,
  ...extra,
});

/**
 * Asks `check` every `intervalMs` until it returns a value; TimeoutError after `timeoutMs`. Unlike
 * waitFor, an error thrown by `check` ends the wait (a failed import will not start working).
 */
export async function pollUntil<T>(
  phase: string,
  options: { intervalMs: number; timeoutMs: number; signal: AbortSignal },
  check: () => Promise<T | undefined>,
): Promise<T> {
  const until = Date.now() + options.timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() + options.intervalMs > until) throw new TimeoutError(phase, options.timeoutMs);
    await sleep(options.intervalMs, options.signal);
  }
}
