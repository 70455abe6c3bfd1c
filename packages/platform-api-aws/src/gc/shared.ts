import { type GcContext, type GcResource, PlatformApiError } from '@mantle/cluster';
import type { AwsClients } from '../api/clients.js';
import { awsErrorCode } from '../api/errors.js';
import { ownerTag } from '../tags.js';

/** What every AWS GC kind is built from: one client set per region, shared by the kinds. */
export interface AwsGcEnv {
  clients(region: string): AwsClients;
}

/** EC2 filter on the ownership tag: only our resources cross the wire. */
export const ownerFilter = { Name: `tag:${ownerTag.key}`, Values: [ownerTag.value] };

/** EC2 accepts at most 200 values per filter. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export function tagMap(
  tags: ReadonlyArray<{ Key?: string; Value?: string }> | undefined,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of tags ?? []) if (t.Key !== undefined) out[t.Key] = t.Value ?? '';
  return out;
}

/**
 * One value per GC run (the engine makes a new context per run) and key: listings several kinds
 * read (instances, owned images, the network survey, tagged buckets) are fetched once per run.
 */
const perRunValues = new WeakMap<GcContext, Map<string, unknown>>();
export function perRun<T>(ctx: GcContext, key: string, make: () => T): T {
  let values = perRunValues.get(ctx);
  if (!values) {
    values = new Map();
    perRunValues.set(ctx, values);
  }
  if (!values.has(key)) values.set(key, make());
  return values.get(key) as T;
}

/** Removals this run performed (or, in a plan, would perform), by kind, so later kinds can see them. */
export function removedInRun(ctx: GcContext, kind: string): Set<string> {
  return perRun(ctx, `removed:${kind}`, () => new Set<string>());
}

/**
 * Whether `id` of `kind` is gone, or goes in this run: in a plan, any candidate of the earlier kind;
 * with `apply`, only what was actually removed (a failed removal still holds what it holds).
 */
export function goneInRun(ctx: GcContext, kind: string, id: string): boolean {
  return ctx.apply ? removedInRun(ctx, kind).has(id) : ctx.isCandidate(kind, id);
}

/** The region of a resource listed by these kinds (always set). */
export function regionOf(resource: GcResource): string {
  return resource.location ?? '';
}

/**
 * Network pieces are ageless (shared by every run) but a `created-at` tag younger than the
 * threshold keeps them: a run may have just created them and not launched into them yet.
 */
export function youngNetworkReason(resource: GcResource, ctx: GcContext): string | undefined {
  const createdAt = resource.tags['created-at'];
  if (createdAt === undefined) return undefined;
  const at = Date.parse(createdAt);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(createdAt) || Number.isNaN(at))
    return `created-at tag "${createdAt}" is not an RFC 3339 date`;
  const age = ctx.now.getTime() - at;
  if (age < ctx.olderThanMs)
    return `created ${Math.max(0, Math.floor(age / 60_000))}m ago (younger than ${Math.floor(ctx.olderThanMs / 60_000)}m): a run may be about to use it`;
  return undefined;
}

/** Map.groupBy arrived in Node 21. */
export function groupBy<T>(items: readonly T[], keyOf: (item: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    const list = out.get(key);
    if (list) list.push(item);
    else out.set(key, [item]);
  }
  return out;
}

/** The provider's error code of an SDK error, also through awsCall's PlatformApiError wrapping. */
export function providerCode(e: unknown): string | undefined {
  return e instanceof PlatformApiError ? e.details.providerCode : awsErrorCode(e);
}
