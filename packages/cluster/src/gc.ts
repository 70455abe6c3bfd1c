import { errorMessage } from './errors.js';
import type { Logger } from './log.js';
import { throwIfAborted } from './wait.js';

/**
 * `ore gc`: the safety net for what test runs leaked. Each platform declares resource kinds (one
 * file per kind); this engine lists them, applies the protections no flag can override, and removes
 * candidates in `dependsOn` order only with `apply`. It never stops at the first error: every
 * resource ends up in the report as removed, would-remove, kept (with the reason) or failed.
 */

/** A resource found by a GC kind's listing. */
export interface GcResource {
  /** The kind that listed it, e.g. `aws.instance`. */
  kind: string;
  /** What the cloud calls it (instance id, key name, `bucket/key`, …). */
  id: string;
  /** Region or zone. */
  location?: string;
  /** A readable name when the id is not one. */
  name?: string;
  /** When it was created; without it only `expires-at` (or an ageless kind) can make it a candidate. */
  createdAt?: Date;
  /** Tags/labels as a flat map; a tag without value (DO, Packet) maps to ''. */
  tags: Record<string, string>;
}

/** The tag that marks resources this tool created: the only ones GC may ever delete. */
export interface GcOwnerTag {
  key: string;
  /** Required value; undefined accepts any value (tag-only clouds). */
  value?: string;
}

export interface GcContext {
  log: Logger;
  signal: AbortSignal;
  /** Regions (or zones) asked for, already expanded from `--all-regions`. */
  locations: readonly string[];
  now: Date;
  /** Resources must be older than this to be removed (unless `expires-at` says otherwise). */
  olderThanMs: number;
  apply: boolean;
  /**
   * Whether this run removes (or, in a plan, would remove) that resource: lets a kind whose
   * resources are "in use" by another kind's candidates tell a plan they would become free.
   */
  isCandidate(kind: string, id: string): boolean;
}

/** A kind of resource GC may list and remove, registered declaratively by a platform. */
export interface GcResourceKind<R extends GcResource = GcResource> {
  kind: string;
  /** Shown in `ore gc --help`-like listings and the report. */
  description: string;
  /** Kinds whose candidates are removed before this kind is listed (instances before their VPC). */
  dependsOn?: string[];
  /**
   * Kinds whose age means nothing (a security group shared by every run): candidates once nothing
   * uses them, whatever their age. Tag protections still apply.
   */
  ageless?: boolean;
  /**
   * Kinds collected only through an `expires-at` tag (AMIs and snapshots made by `ore upload`: a
   * release image must never go because it is old).
   */
  expiryOnly?: boolean;
  /** Every page, every location in `ctx.locations`. */
  list(ctx: GcContext): AsyncIterable<R>;
  /** A kind-specific reason to keep it (in use, not in a deletable state); undefined = candidate. */
  protectedReason?(resource: R, ctx: GcContext): string | undefined | Promise<string | undefined>;
  /** Removes one; "already gone" resolves. */
  remove?(resource: R, ctx: GcContext): Promise<void>;
  /**
   * Removes many in as few requests as the API allows; resolves to the error of each one that
   * failed (by id). Preferred over `remove` when both exist.
   */
  removeMany?(resources: R[], ctx: GcContext): Promise<Map<string, unknown>>;
}

export type GcAction = 'removed' | 'would-remove' | 'kept' | 'failed';

export interface GcResult {
  resource: GcResource;
  action: GcAction;
  /** Why it is kept, or why it is (would be) removed. */
  reason: string;
  error?: string;
}

export interface GcReport {
  apply: boolean;
  startedAt: string;
  olderThanMs: number;
  locations: string[];
  results: GcResult[];
  /** Kinds whose listing failed: their resources are unknown, so nothing of theirs was touched. */
  listingErrors: Array<{ kind: string; error: string }>;
  counts: Record<GcAction, number>;
}

export interface RunGcOptions {
  kinds: readonly GcResourceKind[];
  ownerTag: GcOwnerTag;
  locations: readonly string[];
  apply: boolean;
  olderThanMs: number;
  signal: AbortSignal;
  log: Logger;
  now?: Date;
  /** Removals in flight at once for kinds without `removeMany` (default 8). */
  concurrency?: number;
  /** Called as each resource's outcome is known (progress lines). */
  onResult?(result: GcResult): void;
}

/** The tag names GC understands on any resource, whatever the platform. */
/**
 * Tags that are plain strings (DigitalOcean, Equinix Metal) as GC's flat map: `key:value` → key =
 * value; a bare name → ''.
 */
export function tagMap(tags: readonly string[] | null | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of tags ?? []) {
    const colon = t.indexOf(':');
    if (colon < 0) out[t] = '';
    else out[t.slice(0, colon)] = t.slice(colon + 1);
  }
  return out;
}

export const keepUntilTag = 'keep-until';
export const expiresAtTag = 'expires-at';

/** RFC 3339 date-time or full date. Anything else is not a date (and protects, never deletes). */
export function parseRfc3339(value: string): Date | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2}))?$/.exec(
    value.trim(),
  );
  if (!m) return undefined;
  const d = new Date(m[4] ? value.trim().replace(' ', 'T') : `${value.trim()}T00:00:00Z`);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** Orders kinds so each comes after the kinds it depends on; a cycle or unknown name is a bug. */
export function orderKinds<K extends Pick<GcResourceKind, 'kind' | 'dependsOn'>>(kinds: readonly K[]): K[] {
  const byName = new Map(kinds.map((k) => [k.kind, k]));
  const ordered: K[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (k: K, path: string[]): void => {
    const s = state.get(k.kind);
    if (s === 'done') return;
    if (s === 'visiting')
      throw new Error(`gc kinds depend on each other in a cycle: ${[...path, k.kind].join(' → ')}`);
    state.set(k.kind, 'visiting');
    for (const dep of k.dependsOn ?? []) {
      const d = byName.get(dep);
      // a dependency on a kind not selected for this run is fine: nothing of it will be removed
      if (d) visit(d, [...path, k.kind]);
    }
    state.set(k.kind, 'done');
    ordered.push(k);
  };
  for (const k of kinds) visit(k, []);
  return ordered;
}

function describeAge(ms: number): string {
  const h = ms / 3_600_000;
  if (h >= 48) return `${Math.floor(h / 24)}d`;
  if (h >= 1) return `${Math.floor(h)}h${Math.floor((ms % 3_600_000) / 60_000)}m`;
  return `${Math.floor(ms / 60_000)}m`;
}

/**
 * The built-in rules, in order; none can be overridden by a flag. Returns the reason to keep, or
 * the reason it is a candidate.
 */
export function builtInVerdict(
  resource: GcResource,
  kind: Pick<GcResourceKind, 'ageless' | 'expiryOnly'>,
  owner: GcOwnerTag,
  now: Date,
  olderThanMs: number,
): { keep: boolean; reason: string } {
  const ownerValue = resource.tags[owner.key];
  if (ownerValue === undefined || (owner.value !== undefined && ownerValue !== owner.value)) {
    const wanted = owner.value === undefined ? owner.key : `${owner.key}=${owner.value}`;
    return { keep: true, reason: `not created by this tool (no ${wanted} tag)` };
  }
  const keepUntil = resource.tags[keepUntilTag];
  if (keepUntil !== undefined) {
    const until = parseRfc3339(keepUntil);
    if (!until) return { keep: true, reason: `${keepUntilTag} tag "${keepUntil}" is not an RFC 3339 date` };
    if (until.getTime() > now.getTime())
      return { keep: true, reason: `${keepUntilTag} ${until.toISOString()}` };
  }
  const expiresAt = resource.tags[expiresAtTag];
  if (expiresAt !== undefined) {
    const at = parseRfc3339(expiresAt);
    if (!at) return { keep: true, reason: `${expiresAtTag} tag "${expiresAt}" is not an RFC 3339 date` };
    if (at.getTime() > now.getTime()) return { keep: true, reason: `expires at ${at.toISOString()}` };
    return { keep: false, reason: `expired at ${at.toISOString()}` };
  }
  if (kind.expiryOnly)
    return { keep: true, reason: `no ${expiresAtTag} tag (collected only when it expires)` };
  if (kind.ageless) return { keep: false, reason: 'unused' };
  if (!resource.createdAt) return { keep: true, reason: 'creation time unknown' };
  const age = now.getTime() - resource.createdAt.getTime();
  if (age < olderThanMs)
    return {
      keep: true,
      reason: `younger than ${describeAge(olderThanMs)} (age ${describeAge(Math.max(0, age))})`,
    };
  return { keep: false, reason: `age ${describeAge(age)}` };
}

async function mapLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  });
  await Promise.all(workers);
}

/** Plans (or, with `apply`, performs) the removal of leaked resources; see the file comment. */
export async function runGc(options: RunGcOptions): Promise<GcReport> {
  const now = options.now ?? new Date();
  const candidates = new Set<string>();
  const key = (kind: string, id: string) => `${kind}\u0000${id}`;
  const ctx: GcContext = {
    log: options.log,
    signal: options.signal,
    locations: options.locations,
    now,
    olderThanMs: options.olderThanMs,
    apply: options.apply,
    isCandidate: (kind, id) => candidates.has(key(kind, id)),
  };
  const report: GcReport = {
    apply: options.apply,
    startedAt: now.toISOString(),
    olderThanMs: options.olderThanMs,
    locations: [...options.locations],
    results: [],
    listingErrors: [],
    counts: { removed: 0, 'would-remove': 0, kept: 0, failed: 0 },
  };
  const record = (result: GcResult) => {
    report.results.push(result);
    report.counts[result.action]++;
    options.onResult?.(result);
  };

  for (const kind of orderKinds(options.kinds)) {
    throwIfAborted(options.signal, 'gc');
    const chosen: Array<{ resource: GcResource; reason: string }> = [];
    try {
      for await (const resource of kind.list(ctx)) {
        const verdict = builtInVerdict(resource, kind, options.ownerTag, now, options.olderThanMs);
        let keepReason = verdict.keep ? verdict.reason : undefined;
        if (!keepReason && kind.protectedReason) keepReason = await kind.protectedReason(resource, ctx);
        if (keepReason) record({ resource, action: 'kept', reason: keepReason });
        else {
          candidates.add(key(kind.kind, resource.id));
          chosen.push({ resource, reason: verdict.reason });
        }
      }
    } catch (e) {
      if (options.signal.aborted) throw e;
      // a partial listing must not be acted on: its missing pages may hold what protects the rest
      for (const c of chosen) {
        candidates.delete(key(kind.kind, c.resource.id));
        record({ resource: c.resource, action: 'kept', reason: `listing of ${kind.kind} failed` });
      }
      report.listingErrors.push({ kind: kind.kind, error: errorMessage(e) });
      options.log.error(`gc: listing ${kind.kind} failed: ${errorMessage(e)}`);
      continue;
    }
    if (!options.apply) {
      for (const c of chosen) record({ resource: c.resource, action: 'would-remove', reason: c.reason });
      continue;
    }
    if (chosen.length === 0) continue;
    if (kind.removeMany) {
      let failures: Map<string, unknown>;
      try {
        failures = await kind.removeMany(
          chosen.map((c) => c.resource),
          ctx,
        );
      } catch (e) {
        if (options.signal.aborted) throw e;
        failures = new Map(chosen.map((c) => [c.resource.id, e]));
      }
      for (const c of chosen) {
        if (!failures.has(c.resource.id))
          record({ resource: c.resource, action: 'removed', reason: c.reason });
        else {
          // still there: kinds listed later must see it as staying, not as going
          candidates.delete(key(kind.kind, c.resource.id));
          record({
            resource: c.resource,
            action: 'failed',
            reason: c.reason,
            error: errorMessage(failures.get(c.resource.id)),
          });
        }
      }
    } else if (kind.remove) {
      const remove = kind.remove.bind(kind);
      await mapLimit(chosen, options.concurrency ?? 8, async (c) => {
        try {
          await remove(c.resource, ctx);
          record({ resource: c.resource, action: 'removed', reason: c.reason });
        } catch (e) {
          if (options.signal.aborted) throw e;
          candidates.delete(key(kind.kind, c.resource.id));
          record({ resource: c.resource, action: 'failed', reason: c.reason, error: errorMessage(e) });
        }
      });
    } else {
      throw new Error(`gc kind ${kind.kind} has neither remove nor removeMany`);
    }
  }
  return report;
}

/** What a platform's `gc` hook returns: kinds bound to one account and its options. */
export interface GcSession {
  /** Printed before anything else: whose account this is (AWS: account id and ARN from STS). */
  identity: Record<string, string>;
  ownerTag: GcOwnerTag;
  /** Locations the session resolved (`--all-regions` expanded). */
  locations: string[];
  kinds: GcResourceKind[];
  close?(): Promise<void>;
}

export interface GcOpenContext {
  log: Logger;
  signal: AbortSignal;
  /** Locations asked for; empty = the platform's default (its configured region). */
  locations: string[];
  allLocations: boolean;
}
