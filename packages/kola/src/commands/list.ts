import { UsageError } from '@mantle/cluster/errors';
import { matchesPattern } from '@mantle/harness/glob';
import { findPlatformEntry } from '@mantle/platforms';
import type { KolaCommandEnvironment } from '../environment.js';
import { listingOf, readTestsManifest, type TestListing } from '../tests/listing.js';

export interface ListFlags {
  json?: boolean;
  exttest: string[];
  platform: string;
}

/** kola's tests from the build's listing when nothing is added to them, else loaded. */
async function listedTests(opts: ListFlags, env: KolaCommandEnvironment): Promise<TestListing[]> {
  const fromBuild = !opts.exttest.length && !env.deps.extraTests ? readTestsManifest() : undefined;
  if (fromBuild) return fromBuild;
  const { loadTests } = await import('../tests/index.js');
  return (await loadTests(env.deps, opts.exttest)).map(listingOf);
}

export async function listCommand(
  patterns: string[],
  opts: ListFlags,
  env: KolaCommandEnvironment,
): Promise<number> {
  const tests = await listedTests(opts, env);
  // -p filters only when given explicitly: its default (qemu) would otherwise hide every restricted test
  const platformGiven = env.argv
    .slice(2)
    .some((a) => a === '-p' || a === '--platform' || a.startsWith('--platform=') || /^-p./.test(a));
  if (platformGiven) findPlatformEntry(opts.platform, env.deps.platforms); // an unknown -p is a usage error
  const globs = patterns.length ? patterns : ['*'];
  const unmatched = globs.filter((p) => !tests.some((t) => matchesPattern(t.name, p)));
  if (unmatched.length)
    throw new UsageError(`no test matches ${unmatched.map((p) => JSON.stringify(p)).join(', ')}`);
  const listed = tests.filter(
    (t) =>
      globs.some((p) => matchesPattern(t.name, p)) &&
      (!platformGiven ||
        ((!t.platforms?.only || t.platforms.only.includes(opts.platform)) &&
          !t.platforms?.exclude?.includes(opts.platform))),
  );
  if (opts.json) {
    const rows = listed.map((t) => ({
      name: t.name,
      platforms: t.platforms?.only ?? ['all'],
      excludePlatforms: t.platforms?.exclude ?? [],
      tags: t.tags ?? [],
      clusterSize: t.clusterSize ?? 1,
      timeoutMs: t.timeoutMs ?? null,
      description: t.description ?? '',
    }));
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return 0;
  }
  const table = [
    ['Test Name', 'Platforms', 'Tags'],
    ...listed.map((t) => [t.name, platformText(t.platforms), (t.tags ?? []).join(',') || '-']),
  ];
  const widths = table[0]!.map((_c, i) => Math.max(...table.map((r) => r[i]!.length)));
  for (const row of table)
    process.stdout.write(
      `${row
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd()}\n`,
    );
  return 0;
}

function platformText(p: { only?: string[]; exclude?: string[] } | undefined): string {
  if (p?.only) return `[${p.only.join(',')}]`;
  if (p?.exclude) return `[all] -${p.exclude.join(',-')}`;
  return '[all]';
}
