/**
 * Which tests a run executes: name globs (Go `filepath.Match` semantics, as mantle uses), tags, the
 * tests' platform restrictions and the denylist. Every test a pattern matched but that will not run is
 * returned with the reason, so a run can always say why a test did not run (coreos-assembler#3511).
 */
import { type DenylistEntry, describeDenylistSkip, evaluateDenylist } from './denylist.js';
import { matchesPattern, validatePattern } from './glob.js';

export { hasGlobCharacters, matchesPattern, validatePattern } from './glob.js';

export interface SelectableTest {
  name: string;
  tags?: string[];
  platforms?: { only?: string[]; exclude?: string[] };
}

export interface SelectOptions {
  /** Name globs; a test is wanted when any matches. Default `['*']`. */
  patterns?: string[];
  /**
   * When non-empty, a test must carry one of these tags. A tag written `!name` instead excludes
   * tests carrying `name` (as in coreos-assembler's `--tag`).
   */
  tags?: string[];
  platform: string;
  denylist?: DenylistEntry[];
  /** Machine architecture, for denylist entries with `arches` (default x86_64). */
  arch?: string;
  now?: Date;
}

export interface ExpiredSnooze<T> {
  entry: DenylistEntry;
  /** Tests the entry matched; they run again. */
  tests: T[];
  /** Operator-facing note, e.g. for the run log and each affected test's output. */
  message: string;
}

export interface Selection<T> {
  /** Tests to run, in input order. */
  selected: T[];
  /** Tests a pattern asked for that will not run, with why (report them as SKIP). */
  skipped: Array<{ test: T; reason: string }>;
  /** Patterns that matched no test at all, whatever the platform (the CLI makes this a usage error). */
  unmatchedPatterns: string[];
  /** Denylist entries whose snooze date has passed and that matched tests which therefore run again. */
  expiredSnoozes: Array<ExpiredSnooze<T>>;
}

/** Why `test` cannot run on `platform`, or undefined when it can. */
export function platformSkipReason(test: SelectableTest, platform: string): string | undefined {
  const only = test.platforms?.only;
  const exclude = test.platforms?.exclude;
  if (exclude?.includes(platform)) return `not supported on ${platform}; excluded: ${exclude.join(', ')}`;
  if (only && only.length > 0 && !only.includes(platform)) {
    return `not supported on ${platform}; only: ${only.join(', ')}`;
  }
  return undefined;
}

export function selectTests<T extends SelectableTest>(
  tests: readonly T[],
  options: SelectOptions,
): Selection<T> {
  const patterns = options.patterns && options.patterns.length > 0 ? options.patterns : ['*'];
  for (const p of patterns) validatePattern(p);
  const wantTags = (options.tags ?? []).filter((t) => !t.startsWith('!'));
  const notTags = (options.tags ?? []).filter((t) => t.startsWith('!')).map((t) => t.slice(1));
  const now = options.now ?? new Date();
  const denyContext = { platform: options.platform, arch: options.arch, now };

  const used = new Set<string>();
  const selection: Selection<T> = { selected: [], skipped: [], unmatchedPatterns: [], expiredSnoozes: [] };
  const expired = new Map<DenylistEntry, T[]>();

  for (const test of tests) {
    let matched = false;
    for (const p of patterns) {
      if (matchesPattern(test.name, p)) {
        used.add(p);
        matched = true;
      }
    }
    if (!matched) continue;
    const tags = test.tags ?? [];
    if (wantTags.length > 0 && !wantTags.some((t) => tags.includes(t))) continue;
    if (notTags.some((t) => tags.includes(t))) continue;

    const platformReason = platformSkipReason(test, options.platform);
    if (platformReason) {
      selection.skipped.push({ test, reason: platformReason });
      continue;
    }
    const deny = evaluateDenylist(test.name, options.denylist ?? [], denyContext);
    for (const entry of deny.expired) {
      const list = expired.get(entry) ?? [];
      list.push(test);
      expired.set(entry, list);
    }
    if (deny.active) {
      selection.skipped.push({ test, reason: describeDenylistSkip(deny.active) });
      continue;
    }
    selection.selected.push(test);
  }

  selection.unmatchedPatterns = patterns.filter((p) => !used.has(p));
  for (const [entry, matchedTests] of expired) {
    selection.expiredSnoozes.push({
      entry,
      tests: matchedTests,
      message: `denylist snooze for pattern ${JSON.stringify(entry.pattern)} expired on ${entry.snooze}; running ${matchedTests.map((t) => t.name).join(', ')} again (${entry.reason}${entry.tracker ? `; ${entry.tracker}` : ''})`,
    });
  }
  return selection;
}
