import { readFileSync } from 'node:fs';
import type { PlatformEntry } from '@mantle/cluster';
import type { PlatformDescription } from './description.js';
import { kolaPlatforms } from './registry.js';

const shipped: readonly PlatformEntry[] = kolaPlatforms;

/**
 * The platforms' descriptions written by the build (scripts/build.mjs) beside this module, so that
 * help and flag parsing need neither the platforms nor zod. An entry the manifest does not know (a
 * platform added since the last build, or one a test passes in) is loaded and described instead.
 */
export const manifestFile = new URL('./platforms-manifest.json', import.meta.url);

let cached: Map<string, PlatformDescription> | undefined;

function readManifest(): Map<string, PlatformDescription> {
  if (cached) return cached;
  cached = new Map();
  try {
    const parsed = JSON.parse(readFileSync(manifestFile, 'utf8')) as { platforms: PlatformDescription[] };
    for (const p of parsed.platforms) cached.set(p.name, p);
  } catch {
    // no manifest (not built with scripts/build.mjs): every platform is described live
  }
  return cached;
}

/** The description of each entry: from the manifest where it has it, else by loading the platform. */
export async function describePlatformEntries(
  entries: readonly PlatformEntry[],
): Promise<PlatformDescription[]> {
  const manifest = readManifest();
  const out: PlatformDescription[] = [];
  for (const entry of entries) {
    // only the shipped registry's entries may come from the manifest: a test's entry of the same name is its own
    const known = shipped.includes(entry) ? manifest.get(entry.name) : undefined;
    if (known) out.push(known);
    else {
      const { describePlatform } = await import('./describe.js');
      out.push(describePlatform(await entry.load()));
    }
  }
  return out;
}
