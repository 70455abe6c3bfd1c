import { ConfigError, CredentialsError, isMantleError, registerSecret } from '@mantle/cluster';
import {
  DEFAULT_PROFILE,
  expandHome,
  MissingConfigFileError,
  type ReadProfileFileOptions,
  readProfileFile,
  tildePath,
} from './profile-file.js';

/** An environment to read; `process.env` unless a test injects one. */
export type EnvRecord = Readonly<Record<string, string | undefined>>;

export type SettingSource = 'flag' | 'env' | 'file' | 'default' | 'unset';

export type ResolvedSetting<T> =
  | { value: T; source: Exclude<SettingSource, 'unset'> }
  | { value: undefined; source: 'unset' };

export interface SettingSpec<T> {
  /** What the setting is, for error messages (`region`, `API token`). */
  name: string;
  /** Value given by a command-line flag. */
  flag?: T | undefined;
  /** Name of the environment variable (without `$`). */
  env?: string | undefined;
  /** Value from the config file's profile. */
  file?: T | undefined;
  default?: T | undefined;
  /** Turns the environment variable's text into a T; required unless T is string. */
  parse?: (raw: string) => T;
}

/**
 * One setting by precedence: flag > environment > file > default. `undefined`, `null` and `''`
 * count as not given, at every level (an empty `$VAR` does not hide the file).
 */
export function resolveSetting<T>(
  spec: SettingSpec<T> & ({ parse: (raw: string) => T } | { env?: undefined }),
  env?: EnvRecord,
): ResolvedSetting<T>;
export function resolveSetting(spec: SettingSpec<string>, env?: EnvRecord): ResolvedSetting<string>;
export function resolveSetting<T>(spec: SettingSpec<T>, env: EnvRecord = process.env): ResolvedSetting<T> {
  if (isGiven(spec.flag)) return { value: spec.flag, source: 'flag' };
  if (spec.env !== undefined) {
    const raw = env[spec.env];
    if (isGiven(raw)) {
      if (!spec.parse) return { value: raw as T, source: 'env' };
      try {
        return { value: spec.parse(raw), source: 'env' };
      } catch (e) {
        if (isMantleError(e)) throw e;
        const why = e instanceof Error ? e.message : String(e);
        throw new ConfigError(`$${spec.env}: invalid ${spec.name}: ${why}`, { cause: e });
      }
    }
  }
  if (isGiven(spec.file)) return { value: spec.file, source: 'file' };
  if (isGiven(spec.default)) return { value: spec.default, source: 'default' };
  return { value: undefined, source: 'unset' };
}

function isGiven<T>(value: T | undefined | null): value is T {
  return value !== undefined && value !== null && value !== '';
}

export interface CredentialField {
  /** The value given by flag (undefined or `''` = not given). */
  flag?: string | undefined;
  /** The flag's name, for messages: `--do-token`. */
  flagName?: string;
  /** Environment variable name (without `$`): `DIGITALOCEAN_TOKEN`. */
  env?: string;
  /** Key of the field in the profile: `token`. */
  fileField?: string;
  /** Register the value with redact() so no log or report shows it. */
  secret?: boolean;
  /** Missing → CredentialsError. A required field missing from flag and env is what makes the file be read. */
  required?: boolean;
  default?: string;
  /** Human name for messages: `API token`. Defaults to the field's key. */
  description?: string;
}

/** The profile config a file source produced, plus where it came from. */
export interface ProfileSourceResult {
  config: unknown;
  path?: string;
  profile?: string;
  warnings?: string[];
}

/** A lazily read profile, with the words that name it in messages. */
export interface ProfileSource {
  /** `profile "default" in ~/.config/digitalocean.json` */
  label: string;
  read(): ProfileSourceResult | undefined;
}

/**
 * Where the file values come from: a ProfileSource (see profileFileSource()), or a plain function
 * returning the profile's config (or undefined when there is none). Either may throw
 * MissingConfigFileError, which resolveCredentials() folds into its "missing field" message.
 */
export type CredentialsFile = ProfileSource | (() => object | undefined);

export interface ResolveCredentialsOptions<F extends Record<string, CredentialField>> {
  /** Platform name, the first word of every message: `do`. */
  platform: string;
  fields: F;
  /** Read only when a required field is given by neither flag nor environment. */
  file?: CredentialsFile;
  /** The environment to read; default `process.env`. */
  env?: EnvRecord;
}

export type CredentialValues<F> = {
  [K in keyof F]: F[K] extends { required: true } ? string : string | undefined;
};

export interface ResolvedCredentials<F> {
  values: CredentialValues<F>;
  sources: { [K in keyof F]: SettingSource };
  /** Whether the file was consulted. */
  fileRead: boolean;
  /** The file and profile read, when the source reported them. */
  path?: string;
  profile?: string;
  /** Non-fatal problems (e.g. a world-readable credentials file) for the caller to log. */
  warnings: string[];
}

/**
 * Resolves a platform's credential fields, each by flag > environment > profile file > default.
 * The file is read lazily (only if a required field is still missing after flags and environment),
 * secrets are registered for redaction, and nothing is ever asked interactively: a missing required
 * field is a CredentialsError that lists every way to provide it.
 */
export function resolveCredentials<const F extends Record<string, CredentialField>>(
  opts: ResolveCredentialsOptions<F>,
): ResolvedCredentials<F> {
  const env = opts.env ?? process.env;
  const keys = Object.keys(opts.fields) as (keyof F & string)[];
  const field = (key: keyof F & string): CredentialField => opts.fields[key] as CredentialField;
  const early = (key: keyof F & string) => {
    const f = field(key);
    return resolveSetting({ name: describeField(key, f), flag: f.flag, env: f.env }, env);
  };

  const warnings: string[] = [];
  let fileRead = false;
  let config: unknown;
  let path: string | undefined;
  let profile: string | undefined;
  let missingFile: MissingConfigFileError | undefined;
  const needFile = keys.some((k) => field(k).required && early(k).source === 'unset');
  if (opts.file && needFile) {
    fileRead = true;
    try {
      if (typeof opts.file === 'function') {
        config = opts.file();
      } else {
        const got = opts.file.read();
        config = got?.config;
        path = got?.path;
        profile = got?.profile;
        warnings.push(...(got?.warnings ?? []));
      }
    } catch (e) {
      if (!(e instanceof MissingConfigFileError)) throw e;
      missingFile = e;
    }
  }

  const label = opts.file && typeof opts.file !== 'function' ? opts.file.label : 'the config file';
  const values: Record<string, string | undefined> = {};
  const sources: Record<string, SettingSource> = {};
  for (const key of keys) {
    const f = field(key);
    const resolved = resolveSetting(
      {
        name: describeField(key, f),
        flag: f.flag,
        env: f.env,
        file: fileValue(config, f.fileField, label),
        default: f.default,
      },
      env,
    );
    values[key] = resolved.value;
    sources[key] = resolved.source;
    if (f.secret) registerSecret(resolved.value);
  }

  const missing = keys.filter((k) => field(k).required && sources[k] === 'unset');
  if (missing.length > 0) {
    const clauses = missing.map((k) => {
      const f = field(k);
      const ways = [
        f.flagName ? `pass ${f.flagName}` : undefined,
        f.env ? `set $${f.env}` : undefined,
        opts.file && f.fileField ? `add ${JSON.stringify(f.fileField)} to ${label}` : undefined,
      ].filter((w): w is string => w !== undefined);
      return ways.length ? `no ${describeField(k, f)}: ${orList(ways)}` : `no ${describeField(k, f)}`;
    });
    throw new CredentialsError(
      `${opts.platform}: ${clauses.join('; ')}`,
      missingFile ? { hint: `${missingFile.displayPath} does not exist` } : undefined,
    );
  }

  const out: ResolvedCredentials<F> = {
    values: values as CredentialValues<F>,
    sources: sources as { [K in keyof F]: SettingSource },
    fileRead,
    warnings,
  };
  if (path !== undefined) out.path = path;
  if (profile !== undefined) out.profile = profile;
  return out;
}

/**
 * A ProfileSource over one of mantle's profile-map files, for resolveCredentials(). Reading is
 * deferred until `read()`; its label (`profile "default" in ~/.config/digitalocean.json`) is known
 * up front for messages.
 */
export function profileFileSource<T>(opts: ReadProfileFileOptions<T>): ProfileSource & {
  path: string;
  profile: string;
} {
  const path = expandHome(opts.path, opts.homeDir);
  const profile = opts.profile ?? DEFAULT_PROFILE;
  return {
    path,
    profile,
    label: `profile ${JSON.stringify(profile)} in ${tildePath(path, opts.homeDir)}`,
    read: () => readProfileFile({ ...opts, profile }),
  };
}

function describeField(key: string, f: CredentialField): string {
  return f.description ?? key;
}

function fileValue(config: unknown, fileField: string | undefined, label: string): string | undefined {
  if (fileField === undefined || config === null || typeof config !== 'object') return undefined;
  if (!Object.hasOwn(config, fileField)) return undefined;
  const v = (config as Record<string, unknown>)[fileField];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new ConfigError(
    `${label}: field ${JSON.stringify(fileField)}: expected string, got ${Array.isArray(v) ? 'array' : typeof v}`,
    {
      code: 'config.credentials',
    },
  );
}

/** `a`, `a or b`, `a, b or c`. */
function orList(items: string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}
