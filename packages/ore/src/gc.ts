import {
  type CommandIo,
  type GcReport,
  type GcResult,
  type Logger,
  type Platform,
  type PlatformOptionsSchema,
  runGc,
  UsageError,
} from '@mantle/cluster';
import type { z } from 'zod';

export interface GcFlags {
  apply: boolean;
  olderThanMs: number;
  locations: string[];
  allLocations: boolean;
  /** Kinds to sweep (`--kind aws.instance`); empty = all. */
  kinds: string[];
  now: Date;
}

export interface PlatformGcOutcome {
  platform: string;
  identity?: Record<string, string>;
  report?: GcReport;
  error?: string;
}

function label(result: GcResult): string {
  return result.action === 'would-remove' ? 'would remove' : result.action;
}

function line(result: GcResult): string {
  const r = result.resource;
  const name = r.name && r.name !== r.id ? ` (${r.name})` : '';
  const why = result.error ? `${result.reason}: ${result.error}` : result.reason;
  return `${label(result).padEnd(12)} ${r.kind.padEnd(22)} ${(r.location ?? '-').padEnd(14)} ${r.id}${name}  ${why}\n`;
}

/**
 * One platform's sweep: credentials and identity first (printed before anything else), then the
 * engine. Results stream to stderr as lines while it runs; the summary (or JSON) goes to stdout.
 */
export async function gcPlatform<S extends PlatformOptionsSchema>(
  platform: Platform<S>,
  platformOptions: z.output<S>,
  flags: GcFlags,
  io: CommandIo,
  log: Logger,
  signal: AbortSignal,
): Promise<PlatformGcOutcome> {
  if (!platform.gc) throw new UsageError(`platform ${platform.name} has nothing to garbage-collect`);
  const session = await platform.gc(platformOptions, {
    log,
    signal,
    locations: flags.locations,
    allLocations: flags.allLocations,
  });
  try {
    let kinds = session.kinds;
    if (flags.kinds.length) {
      const unknown = flags.kinds.filter((k) => !kinds.some((kind) => kind.kind === k));
      if (unknown.length)
        throw new UsageError(
          `--kind: unknown ${unknown.join(', ')} (known: ${kinds.map((k) => k.kind).join(', ')})`,
        );
      kinds = kinds.filter((k) => flags.kinds.includes(k.kind));
    }
    if (!io.json) {
      const who = Object.entries(session.identity)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ');
      io.stdout.write(`${platform.name}: ${who}\n`);
      io.stdout.write(
        `${platform.name}: ${session.locations.join(', ')}; older than ${flags.olderThanMs / 3_600_000}h; ${
          flags.apply ? 'APPLY: deleting' : 'plan only (nothing is deleted; --apply deletes)'
        }\n`,
      );
    }
    const report = await runGc({
      kinds,
      ownerTag: session.ownerTag,
      locations: session.locations,
      apply: flags.apply,
      olderThanMs: flags.olderThanMs,
      signal,
      log,
      now: flags.now,
      onResult: (r) => {
        if (!io.json) io.stdout.write(line(r));
      },
    });
    if (!io.json) {
      for (const e of report.listingErrors)
        io.stdout.write(`${'failed'.padEnd(12)} ${e.kind.padEnd(22)} listing: ${e.error}\n`);
      const c = report.counts;
      io.stdout.write(
        `${platform.name}: ${flags.apply ? `${c.removed} removed` : `${c['would-remove']} would be removed`}, ${c.kept} kept, ${c.failed + report.listingErrors.length} failed\n`,
      );
    }
    return { platform: platform.name, identity: session.identity, report };
  } finally {
    await session.close?.();
  }
}

/** Exit status of a sweep: 1 when anything failed (a removal or a listing), else 0. */
export function gcExitCode(outcomes: PlatformGcOutcome[]): number {
  return outcomes.some(
    (o) => o.error || (o.report && (o.report.counts.failed > 0 || o.report.listingErrors.length > 0)),
  )
    ? 1
    : 0;
}
