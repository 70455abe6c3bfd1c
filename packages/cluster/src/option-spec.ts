import { ConfigError } from './errors.js';

/**
 * What the CLIs need of an option to build its flag and coerce its value, without loading zod:
 * `describeOptions` (options.ts) makes these from a schema; start-up reads them from a manifest.
 */
export interface OptionMeta {
  /** Environment variable read when the flag is absent. */
  env?: string;
  /** Extra flag spellings accepted (e.g. `--region` for `ore aws`). */
  aliases?: string[];
  secret?: boolean;
  /** Placeholder in help, e.g. 'ID'. */
  valueName?: string;
  /**
   * The option names where resources live (AWS region): `ore gc` accepts it repeatedly and sweeps
   * every value given.
   */
  location?: boolean;
}

export type OptionKind = 'string' | 'number' | 'boolean' | 'string[]' | 'enum';

export interface OptionSpec {
  key: string;
  flag: string;
  kind: OptionKind;
  description: string;
  defaultValue?: unknown;
  choices?: string[];
  env?: string;
  aliases: string[];
  secret: boolean;
  valueName: string;
  location: boolean;
}

export function kebabCase(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
}

/** Converts a raw string (from env or a flag) to the option's kind; errors name where it came from. */
export function coerceOptionValue(spec: OptionSpec, raw: unknown, source: string): unknown {
  if (typeof raw !== 'string') return raw;
  switch (spec.kind) {
    case 'number': {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n))
        throw new ConfigError(`${source}: "${raw}" is not a number`);
      return n;
    }
    case 'boolean':
      if (/^(1|true|yes|on)$/i.test(raw)) return true;
      if (/^(0|false|no|off)$/i.test(raw)) return false;
      throw new ConfigError(`${source}: "${raw}" is not a boolean (true or false)`);
    case 'string[]':
      return raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    default:
      return raw;
  }
}
