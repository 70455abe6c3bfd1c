import { UsageError } from '@mantle/cluster/errors';
import { coerceOptionValue, type OptionSpec } from '@mantle/cluster/option-spec';
import { type Command, Option } from 'commander';

/**
 * The one zod → commander flag builder of kola and ore: flags generated from option specs (made
 * from each zod schema by `describeOptions`, or read from the build's manifest). commander knows one long name per option, so each old
 * spelling (mantle's `--region` for `--aws-region`) is a hidden option of its own, merged back here.
 */
export function addSpecFlags(
  command: Command,
  specs: OptionSpec[],
  settings: { repeatLocations?: boolean; aliases?: boolean } = {},
): void {
  for (const spec of specs) {
    const repeatable = spec.kind === 'string[]' || (settings.repeatLocations && spec.location);
    const notes = [
      spec.aliases.length && settings.aliases !== false ? `(also ${spec.aliases.join(', ')})` : undefined,
      repeatable && spec.location ? '(repeatable)' : undefined,
      spec.env ? `[env ${spec.env}]` : undefined,
    ];
    const help = [spec.description, ...notes].filter(Boolean).join(' ');
    const make = (flag: string) => {
      if (spec.kind === 'boolean')
        return new Option(`${flag} [bool]`, help).argParser((v) => v).preset('true');
      const option = new Option(`${flag} <${spec.valueName.toLowerCase()}>`, help);
      if (spec.choices) option.choices(spec.choices);
      if (repeatable) option.argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), v]);
      return option;
    };
    const primary = make(spec.flag);
    if (spec.defaultValue !== undefined && !repeatable)
      primary.default(undefined, JSON.stringify(spec.defaultValue));
    command.addOption(primary);
    if (settings.aliases !== false)
      for (const alias of spec.aliases) command.addOption(make(alias).hideHelp());
  }
}

function attributeOf(flag: string): string {
  return flag.replace(/^--/, '').replace(/-([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

/** Values given on the command line, by option key; a flag and its alias together is a usage error. */
export function specFlagValues(
  specs: OptionSpec[],
  parsed: Record<string, unknown>,
): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const spec of specs) {
    const given = [spec.flag, ...spec.aliases].filter((f) => parsed[attributeOf(f)] !== undefined);
    if (given.length > 1) throw new UsageError(`${given.join(' and ')} are the same option: give one`);
    const flag = given[0];
    if (flag === undefined) continue;
    const raw = parsed[attributeOf(flag)];
    values[spec.key] =
      spec.kind === 'boolean' && typeof raw === 'string' ? coerceOptionValue(spec, raw, flag) : raw;
  }
  return values;
}
