import type { Platform, PlatformEntry } from '@mantle/cluster';
import { UsageError } from '@mantle/cluster/errors';
import { kolaPlatforms } from './registry.js';

/** The entry named `name`, or a UsageError listing the platforms there are. */
export function findPlatformEntry(
  name: string,
  entries: readonly PlatformEntry[] = kolaPlatforms,
): PlatformEntry {
  const entry = entries.find((e) => e.name === name);
  if (!entry)
    throw new UsageError(`unknown platform "${name}" (available: ${entries.map((e) => e.name).join(', ')})`);
  return entry;
}

/** Loads the platform named `name` (its definition: schemas and hooks, not its SDK). */
export async function loadPlatform(
  name: string,
  entries: readonly PlatformEntry[] = kolaPlatforms,
): Promise<Platform> {
  return findPlatformEntry(name, entries).load();
}
