import { parseDuration, sleep, TimeoutError, UsageError } from '@mantle/cluster';
import { ownerTag } from '../tags.js';

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
