import { describeOptions, type Platform, type PlatformEntry } from '@mantle/cluster';
import type { PlatformDescription } from './description.js';

/** Describes a loaded platform (zod is loaded by then: this is the slow path and the build's). */
export function describePlatform(platform: Platform): PlatformDescription {
  return {
    name: platform.name,
    description: platform.description,
    options: describeOptions(platform.name, platform.options),
    commands: (platform.commands ?? []).map((command) => ({
      name: command.name,
      description: command.description,
      arguments: command.arguments ?? [],
      options: command.options ? describeOptions(platform.name, command.options, '--') : [],
    })),
    gc: platform.gc !== undefined,
  };
}

/** Loads each entry and describes it: what the build writes into the manifest. */
export async function describeEntries(entries: readonly PlatformEntry[]): Promise<PlatformDescription[]> {
  const described: PlatformDescription[] = [];
  for (const entry of entries) {
    const platform = await entry.load();
    if (platform.name !== entry.name)
      throw new Error(`registry entry "${entry.name}" loads a platform named "${platform.name}"`);
    described.push(describePlatform(platform));
  }
  return described;
}
