import type { Logger } from './log.js';

/** A resource found by a GC kind's listing. */
export interface GcResource {
  kind: string;
  id: string;
  location?: string;
  createdAt?: Date;
  tags?: Record<string, string>;
  description?: string;
}

export interface GcContext {
  log: Logger;
  signal: AbortSignal;
  /** Resources must be older than this to be removed. */
  olderThanMs: number;
  now: Date;
}

/** A kind of resource `ore gc` may list and remove; one file per kind in each platform. */
export interface GcResourceKind<R extends GcResource = GcResource> {
  kind: string;
  dependsOn?: string[];
  list(ctx: GcContext): AsyncIterable<R>;
  protectedReason?(r: R, ctx: GcContext): string | undefined;
  remove(r: R, ctx: GcContext): Promise<void>;
}
