import { UsageError } from './errors.js';

const units: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/**
 * The one duration grammar of kola and ore: Go-style units plus days and weeks (`500ms`, `90s`,
 * `10m`, `1h30m`, `7d`, `2w`, `1d12h`); a bare number is seconds. Zero and negative are refused.
 */
export function parseDuration(text: string, flag: string): number {
  const value = text.trim();
  if (/^\d+(\.\d+)?$/.test(value)) return positive(Number(value) * 1000, flag);
  const parts = [...value.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g)];
  if (!parts.length || parts.map((p) => p[0]).join('') !== value) {
    throw new UsageError(`${flag}: "${text}" is not a duration (examples: 90s, 10m, 1h30m, 7d, 2w)`);
  }
  return positive(
    parts.reduce((sum, p) => sum + Number(p[1]) * units[p[2]!]!, 0),
    flag,
  );
}

function positive(ms: number, flag: string): number {
  if (ms <= 0) throw new UsageError(`${flag}: duration must be positive`);
  return ms;
}

/**
 * The `expires-at` tag value (RFC 3339 UTC, no milliseconds) from an ore verb's --expires-in or
 * --expires-at; undefined when neither is given.
 */
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
