import { describeOptions, type OptionSpec, type Platform } from '@mantle/cluster';
import { platformEntries } from '@mantle/harness';
import { type Command, Option } from 'commander';

/**
 * Adds every platform's `--<platform>-*` flags to a command, generated from each platform's zod
 * options schema (help text, env var and default come from there).
 */
export async function addPlatformFlags(
  command: Command,
): Promise<Map<string, { platform: Platform; specs: OptionSpec[] }>> {
  const byPlatform = new Map<string, { platform: Platform; specs: OptionSpec[] }>();
  for (const entry of platformEntries()) {
    const platform = await entry.load();
    const specs = describeOptions(platform.name, platform.options);
    byPlatform.set(platform.name, { platform, specs });
    for (const spec of specs) command.addOption(optionFor(spec));
  }
  return byPlatform;
}

function optionFor(spec: OptionSpec): Option {
  const flags = spec.kind === 'boolean' ? spec.flag : `${spec.flag} <${spec.valueName.toLowerCase()}>`;
  const help = [spec.description, spec.env ? `[env ${spec.env}]` : undefined].filter(Boolean).join(' ');
  const option = new Option(flags, help);
  if (spec.defaultValue !== undefined) option.default(undefined, JSON.stringify(spec.defaultValue));
  if (spec.choices) option.choices(spec.choices);
  if (spec.kind === 'string[]')
    option.argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), v]);
  if (spec.kind === 'boolean') {
    // allow --x=false as well as --x
    return new Option(`${spec.flag} [bool]`, help).argParser((v) => v).preset('true');
  }
  return option;
}

/** Picks one platform's values out of commander's parsed options, keyed by schema key. */
export function platformFlagValues(
  specs: OptionSpec[],
  parsed: Record<string, unknown>,
): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const spec of specs) {
    const attr = spec.flag.slice(2).replace(/-([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
    if (parsed[attr] !== undefined) values[spec.key] = parsed[attr];
  }
  return values;
}
