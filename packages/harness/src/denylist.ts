/**
 * The denylist: a YAML list of tests to skip, in the shape of coreos-assembler's kola-denylist.yaml,
 * made stricter: every entry needs a `reason`, a bad field is named with its file, entry and line, and
 * a `snooze` that has passed is reported instead of expiring silently.
 *
 * ```yaml
 * - pattern: coreos.ignition.*        # test name glob (Go filepath.Match)
 *   reason: flaky metadata service    # required
 *   tracker: https://github.com/org/repo/issues/123
 *   snooze: 2025-06-30                # skipped through this (local) date, runs again from the next day
 *   platforms: [aws, gce]             # only on these platforms
 *   arches: [x86_64]                  # only on these architectures
 * ```
 */
import { readFileSync } from 'node:fs';
import { ConfigError, errorMessage } from '@mantle/cluster';
import { isMap, isSeq, LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { matchesPattern, validatePattern } from './selection.js';

export interface DenylistEntry {
  pattern: string;
  reason: string;
  tracker?: string;
  /** `YYYY-MM-DD`: skip only through this date. */
  snooze?: string;
  platforms?: string[];
  arches?: string[];
  /** Where the entry came from, e.g. `denylist.yaml: entry 2`. */
  source?: string;
}

const nonEmpty = z.string().trim().min(1, 'must not be empty');

const entrySchema = z.strictObject({
  pattern: nonEmpty.refine(isValidPattern, 'is not a valid test name pattern'),
  reason: nonEmpty,
  tracker: nonEmpty.refine(isHttpUrl, 'must be an http(s) URL').optional(),
  snooze: z.string().refine(isValidDate, 'must be a date written YYYY-MM-DD').optional(),
  platforms: z.array(nonEmpty).optional(),
  arches: z.array(nonEmpty).optional(),
});

function isValidPattern(p: string): boolean {
  try {
    validatePattern(p);
    return true;
  } catch {
    return false;
  }
}

function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

function isValidDate(s: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(y, mo - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === mo - 1 && date.getUTCDate() === d;
}

/** Reads and validates a denylist file; errors name the file, the entry and the field. */
export function loadDenylist(path: string): DenylistEntry[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read denylist ${path}: ${errorMessage(e)}`, { cause: e });
  }
  return parseDenylist(text, path);
}

/** Parses denylist YAML; `sourceName` (usually the file path) prefixes every error. */
export function parseDenylist(text: string, sourceName: string): DenylistEntry[] {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const syntax = doc.errors[0];
  if (syntax) {
    const pos = syntax.linePos?.[0] ?? lineCounter.linePos(syntax.pos[0]);
    const where = pos ? ` at line ${pos.line}, column ${pos.col}` : '';
    const firstLine = syntax.message.split('\n')[0] ?? syntax.message;
    throw new ConfigError(`${sourceName}: YAML syntax error${where}: ${firstLine}`, {
      code: 'config.denylist',
    });
  }
  const contents = doc.contents;
  if (contents === null || (contents as { value?: unknown }).value === null) return []; // empty file
  if (!isSeq(contents)) {
    throw new ConfigError(`${sourceName}: the denylist must be a YAML list of entries`, {
      code: 'config.denylist',
    });
  }
  const raw: unknown = doc.toJS();
  const items = Array.isArray(raw) ? raw : [];
  const problems: string[] = [];
  const entries: DenylistEntry[] = [];

  items.forEach((item, index) => {
    const node = contents.items[index];
    const line = (offset: number | undefined) =>
      offset === undefined ? '' : ` (line ${lineCounter.linePos(offset).line})`;
    const prefix = `${sourceName}: entry ${index + 1}`;
    if (item === null || typeof item !== 'object' || Array.isArray(item)) {
      problems.push(
        `${prefix}: must be a mapping with "pattern" and "reason"${line((node as { range?: number[] } | undefined)?.range?.[0])}`,
      );
      return;
    }
    const parsed = entrySchema.safeParse(item);
    if (parsed.success) {
      const entry: DenylistEntry = { ...parsed.data, source: prefix };
      entries.push(entry);
      return;
    }
    for (const issue of parsed.error.issues) {
      const field = issue.path[0];
      const record = item as Record<string, unknown>;
      // Point at the field's value when it is there, else at the entry.
      let offset: number | undefined = (node as { range?: number[] } | undefined)?.range?.[0];
      if (typeof field === 'string' && isMap(node)) {
        const pair = node.items.find((p) => (p.key as { value?: unknown } | null)?.value === field);
        const at = (pair?.value as { range?: number[] } | null)?.range?.[0];
        if (at !== undefined) offset = at;
      }
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) {
          problems.push(
            `${prefix}: unknown field ${JSON.stringify(key)} (allowed: pattern, reason, tracker, snooze, platforms, arches)${line(offset)}`,
          );
        }
      } else if (typeof field === 'string' && record[field] === undefined) {
        problems.push(`${prefix}: ${JSON.stringify(field)} is required${line(offset)}`);
      } else {
        const fieldName = issue.path.map(String).join('.');
        const message = issue.code === 'invalid_type' ? `must be ${describeExpected(issue)}` : issue.message;
        problems.push(`${prefix}: ${JSON.stringify(fieldName)} ${message}${line(offset)}`);
      }
    }
  });

  if (problems.length > 0) {
    throw new ConfigError(problems.join('\n'), { code: 'config.denylist' });
  }
  return entries;
}

function describeExpected(issue: z.core.$ZodIssue): string {
  const expected = (issue as { expected?: string }).expected;
  if (expected === 'array') return 'a list';
  if (expected === 'string') return 'a string';
  return expected ? `of type ${expected}` : 'valid';
}

export interface DenylistContext {
  platform: string;
  /** Default x86_64 (the only architecture kola runs today); `amd64` is accepted as its alias. */
  arch?: string | undefined;
  now?: Date;
}

/** Whether the entry's platform and arch scopes include this run (ignores pattern and snooze). */
export function denylistEntryApplies(entry: DenylistEntry, context: DenylistContext): boolean {
  if (entry.platforms && entry.platforms.length > 0 && !entry.platforms.includes(context.platform))
    return false;
  if (entry.arches && entry.arches.length > 0) {
    const arch = normalizeArch(context.arch ?? 'x86_64');
    if (!entry.arches.some((a) => normalizeArch(a) === arch)) return false;
  }
  return true;
}

function normalizeArch(arch: string): string {
  return arch === 'amd64' ? 'x86_64' : arch === 'arm64' ? 'aarch64' : arch;
}

/** Local calendar date `YYYY-MM-DD`. */
function localDate(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

/**
 * `none` without a snooze (a permanent skip), `active` through the snooze date (inclusive, local
 * calendar date), `expired` from the next day on.
 */
export function snoozeState(entry: DenylistEntry, now: Date = new Date()): 'none' | 'active' | 'expired' {
  if (!entry.snooze) return 'none';
  return localDate(now) <= entry.snooze ? 'active' : 'expired';
}

/**
 * The first applicable entry that skips `name` now (`active`), and every applicable entry matching
 * `name` whose snooze has expired (`expired`; the test runs again and the run should say so).
 */
export function evaluateDenylist(
  name: string,
  entries: readonly DenylistEntry[],
  context: DenylistContext,
): { active?: DenylistEntry; expired: DenylistEntry[] } {
  const now = context.now ?? new Date();
  const result: { active?: DenylistEntry; expired: DenylistEntry[] } = { expired: [] };
  for (const entry of entries) {
    if (!denylistEntryApplies(entry, context) || !matchesPattern(name, entry.pattern)) continue;
    if (snoozeState(entry, now) === 'expired') result.expired.push(entry);
    else result.active ??= entry;
  }
  return result;
}

/** The skip reason for a denylisted test: the entry's reason, its tracker URL and any snooze date. */
export function describeDenylistSkip(entry: DenylistEntry): string {
  const head = entry.snooze ? `denylisted until ${entry.snooze}` : 'denylisted';
  return `${head}: ${entry.reason}${entry.tracker ? ` (${entry.tracker})` : ''}`;
}
