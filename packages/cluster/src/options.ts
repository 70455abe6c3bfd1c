import { z } from 'zod';
import { ConfigError } from './errors.js';
import {
  coerceOptionValue,
  kebabCase,
  type OptionKind,
  type OptionMeta,
  type OptionSpec,
} from './option-spec.js';
import { registerSecret } from './redact.js';

export * from './option-spec.js';

/**
 * Platform options come from one zod object per platform. Each field's description is the help
 * text, `.default()` the default, and `.meta({ env, aliases, secret })` the environment variable, old
 * flag spellings (mantle's ore flags) and whether to redact it. From that one place the CLIs build
 * `--<platform>-<kebab-key>` flags and resolve values with flags > env > default.
 */
export type PlatformOptionsSchema = z.ZodObject<z.ZodRawShape>;

interface ZodDefLike {
  type: string;
  innerType?: z.ZodType;
  defaultValue?: unknown;
  entries?: Record<string, string>;
  element?: z.ZodType;
  in?: z.ZodType;
}

function defOf(schema: z.ZodType): ZodDefLike {
  return (schema as unknown as { _zod: { def: ZodDefLike } })._zod.def;
}

/** Describes each option of a platform's schema for flag generation and help. */
export function describeOptions(
  platform: string,
  schema: PlatformOptionsSchema,
  flagPrefix = `--${platform}-`,
): OptionSpec[] {
  return Object.entries(schema.shape).map(([key, field]) => {
    let current = field as z.ZodType;
    let meta: OptionMeta & { description?: string } = {};
    let defaultValue: unknown;
    for (;;) {
      meta = { ...(z.globalRegistry.get(current) as OptionMeta & { description?: string }), ...meta };
      const def = defOf(current);
      if (def.type === 'default' || def.type === 'prefault') {
        defaultValue =
          typeof def.defaultValue === 'function' ? (def.defaultValue as () => unknown)() : def.defaultValue;
        current = def.innerType!;
      } else if (def.type === 'optional' || def.type === 'nullable' || def.type === 'readonly') {
        current = def.innerType!;
      } else if (def.type === 'pipe') {
        current = def.in!;
      } else break;
    }
    const def = defOf(current);
    let kind: OptionKind;
    let choices: string[] | undefined;
    switch (def.type) {
      case 'boolean':
        kind = 'boolean';
        break;
      case 'number':
      case 'int':
        kind = 'number';
        break;
      case 'enum':
        kind = 'enum';
        choices = Object.values(def.entries ?? {});
        break;
      case 'array':
        kind = 'string[]';
        break;
      default:
        kind = 'string';
    }
    const spec: OptionSpec = {
      key,
      flag: `${flagPrefix}${kebabCase(key)}`,
      kind,
      description: meta.description ?? '',
      aliases: meta.aliases ?? [],
      secret: meta.secret ?? false,
      valueName: meta.valueName ?? (kind === 'number' ? 'N' : 'VALUE'),
      location: meta.location ?? false,
    };
    if (defaultValue !== undefined) spec.defaultValue = defaultValue;
    if (choices) spec.choices = choices;
    if (meta.env) spec.env = meta.env;
    return spec;
  });
}

/**
 * The `--expires-in`/`--expires-at` flags of the image verbs (spread into a verb's schema); their
 * values go through `expiryFrom` to the `expires-at` tag GC honours.
 */
export const expiryOptions = {
  expiresIn: z
    .string()
    .optional()
    .describe('tag expires-at = now + this (e.g. 7d); gc removes only images with expires-at')
    .meta({ valueName: 'DURATION' }),
  expiresAt: z
    .string()
    .optional()
    .describe('tag expires-at = this RFC 3339 date')
    .meta({ valueName: 'DATE' }),
};

export interface ResolveOptionsInput {
  /** Values from flags, by option key (already typed by the CLI parser, or raw strings). */
  flags?: Record<string, unknown>;
  env?: NodeJS.ProcessEnv;
  /** Flag prefix (default `--<platform>-`; ore verbs' own options use `--`). */
  flagPrefix?: string;
}

/**
 * Resolves a platform's options: flag > environment > schema default, then validates with the
 * schema. A bad value is a ConfigError naming the flag (or variable) and what is wrong.
 */
export function resolveOptions<S extends PlatformOptionsSchema>(
  platform: string,
  schema: S,
  input: ResolveOptionsInput = {},
): z.output<S> {
  const env = input.env ?? process.env;
  const raw: Record<string, unknown> = {};
  const sourceOf: Record<string, string> = {};
  const prefix = input.flagPrefix ?? `--${platform}-`;
  const specs = describeOptions(platform, schema, prefix);
  for (const spec of specs) {
    const flagValue = input.flags?.[spec.key];
    const given = flagValue !== undefined ? flagValue : spec.env ? env[spec.env] : undefined;
    // before coercion and validation, whose error messages may quote the value
    if (spec.secret) registerSecretValue(given);
    if (flagValue !== undefined) {
      raw[spec.key] = coerceOptionValue(spec, flagValue, spec.flag);
      sourceOf[spec.key] = spec.flag;
    } else if (spec.env && env[spec.env] !== undefined && env[spec.env] !== '') {
      raw[spec.key] = coerceOptionValue(spec, env[spec.env], `$${spec.env}`);
      sourceOf[spec.key] = `$${spec.env}`;
    }
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = String(issue.path[0] ?? '');
    const where = sourceOf[key] ?? `${prefix}${kebabCase(key)}`;
    throw new ConfigError(`${where}: ${issue.message}`);
  }
  // the parsed value too: a default or a schema transform may differ from what was given
  for (const spec of specs) if (spec.secret) registerSecretValue(parsed.data[spec.key]);
  return parsed.data;
}

/** Registers a secret option's value (each string of a list) so redact() hides it. */
function registerSecretValue(value: unknown): void {
  if (typeof value === 'string') registerSecret(value);
  else if (Array.isArray(value)) for (const item of value) registerSecretValue(item);
}
