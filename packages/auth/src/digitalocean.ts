import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { ConfigError, CredentialsError, registerSecret } from '@mantle/cluster';
import { z } from 'zod';
import type { EnvRecord } from './credentials.js';
import {
  checkFilePrivate,
  DEFAULT_PROFILE,
  defaultConfigPath,
  describeIoError,
  expandHome,
  homeDirectory,
  MissingConfigFileError,
  readProfileFile,
  tildePath,
} from './profile-file.js';

/**
 * The DigitalOcean reader: one API token, from (first found wins)
 *   1. `--do-token`;
 *   2. `$DIGITALOCEAN_TOKEN` (DigitalOcean's docs, Terraform), then `$DIGITALOCEAN_ACCESS_TOKEN` (doctl's);
 *   3. mantle's `~/.config/digitalocean.json`, `{"<profile>": {"token": "…"}}` (`--do-config-file`,
 *      `--do-profile`, default `default`);
 *   4. doctl's `config.yaml` (`$XDG_CONFIG_HOME/doctl/` or `~/.config/doctl/`): `access-token` for
 *      the `default` context, `auth-contexts.<name>` for another; the context is `--do-profile`, else
 *      `$DIGITALOCEAN_CONTEXT`, else the file's `context`.
 * A file named by flag must exist; a default file that is absent is skipped. Every problem is one
 * line naming the file, the profile (or context) and the field. The token is registered as a secret.
 */

export const DIGITALOCEAN_CONFIG_FILE = 'digitalocean.json';
export const digitalOceanEnvVars = ['DIGITALOCEAN_TOKEN', 'DIGITALOCEAN_ACCESS_TOKEN'] as const;

const mantleProfileSchema = z.object({ token: z.string().min(1, 'must not be empty') });

export interface DigitalOceanTokenOptions {
  /** `--do-token`. */
  token?: string | undefined;
  /** `--do-config-file` (mantle's JSON profiles); `~` is expanded. Given = must exist. */
  configFile?: string | undefined;
  /** `--do-profile`: the profile of mantle's file, or the doctl context. */
  profile?: string | undefined;
  /** doctl's config file; default `$XDG_CONFIG_HOME/doctl/config.yaml` or `~/.config/doctl/config.yaml`. */
  doctlConfigFile?: string | undefined;
  env?: EnvRecord;
  homeDir?: string;
  onWarning?: (message: string) => void;
}

export type DigitalOceanTokenSource = 'flag' | 'env' | 'mantle-config' | 'doctl-config';

export interface DigitalOceanToken {
  token: string;
  source: DigitalOceanTokenSource;
  /** The variable, for source `env`. */
  env?: string;
  /** The file read, for the file sources. */
  path?: string;
  /** The profile (mantle) or context (doctl) read. */
  profile?: string;
  warnings: string[];
}

/** doctl's config file: `os.UserConfigDir()/doctl/config.yaml` on Linux. */
export function defaultDoctlConfigPath(env: EnvRecord = process.env, homeDir?: string): string {
  const xdg = env.XDG_CONFIG_HOME;
  return join(xdg ? xdg : join(homeDirectory(homeDir), '.config'), 'doctl', 'config.yaml');
}

export function resolveDigitalOceanToken(opts: DigitalOceanTokenOptions = {}): DigitalOceanToken {
  const env = opts.env ?? process.env;
  const warnings: string[] = [];
  const warn = (m: string) => {
    warnings.push(m);
    opts.onWarning?.(m);
  };
  const found = (t: Omit<DigitalOceanToken, 'warnings'>): DigitalOceanToken => {
    registerSecret(t.token);
    return { ...t, warnings };
  };
  if (opts.token) return found({ token: opts.token, source: 'flag' });
  for (const name of digitalOceanEnvVars) {
    const value = env[name];
    if (value) return found({ token: value, source: 'env', env: name });
  }

  const mantlePath = opts.configFile ?? defaultConfigPath(DIGITALOCEAN_CONFIG_FILE, opts.homeDir);
  try {
    const got = readProfileFile({
      path: mantlePath,
      platform: 'do',
      schema: mantleProfileSchema,
      ...(opts.profile ? { profile: opts.profile } : {}),
      ...(opts.homeDir !== undefined ? { homeDir: opts.homeDir } : {}),
      onWarning: warn,
    });
    return found({ token: got.config.token, source: 'mantle-config', path: got.path, profile: got.profile });
  } catch (e) {
    // only the default file may be absent: a file the operator named must be there
    if (!(e instanceof MissingConfigFileError) || opts.configFile !== undefined) throw e;
  }

  const doctlPath = expandHome(
    opts.doctlConfigFile ?? defaultDoctlConfigPath(env, opts.homeDir),
    opts.homeDir,
  );
  const fromDoctl = readDoctlToken(doctlPath, opts.profile ?? env.DIGITALOCEAN_CONTEXT, {
    explicit: opts.doctlConfigFile !== undefined,
    warn,
    ...(opts.homeDir !== undefined ? { homeDir: opts.homeDir } : {}),
  });
  if (fromDoctl) return found({ ...fromDoctl, source: 'doctl-config', path: doctlPath });

  const mantleShown = tildePath(expandHome(mantlePath, opts.homeDir), opts.homeDir);
  const doctlShown = tildePath(doctlPath, opts.homeDir);
  throw new CredentialsError(
    `do: no API token: pass --do-token, set $DIGITALOCEAN_TOKEN, or write ${mantleShown} ({"default": {"token": "…"}}) or doctl's ${doctlShown} (doctl auth init)`,
  );
}

const doctlSchema = z.looseObject({
  'access-token': z.string().optional(),
  context: z.string().optional(),
  'auth-contexts': z.record(z.string(), z.string()).optional(),
});

/** The token of `context` (default: the file's own `context`, else `default`) in doctl's config. */
function readDoctlToken(
  path: string,
  context: string | undefined,
  o: { explicit: boolean; warn: (m: string) => void; homeDir?: string },
): { token: string; profile: string } | undefined {
  const shown = tildePath(path, o.homeDir);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if ((code === 'ENOENT' || code === 'ENOTDIR') && !o.explicit) return undefined;
    throw new CredentialsError(`${shown}: cannot read: ${describeIoError(e)}`, { cause: e });
  }
  // yaml is loaded only here: no other platform pays for it
  const { parse } = createRequire(import.meta.url)('yaml') as typeof import('yaml');
  let data: unknown;
  try {
    data = parse(text) ?? {};
  } catch (e) {
    const where = (e as { linePos?: Array<{ line: number; col: number }> }).linePos?.[0];
    throw new ConfigError(
      `${shown}: not valid YAML${where ? ` at line ${where.line} column ${where.col}` : ''}`,
      { code: 'config.credentials' },
    );
  }
  const parsed = doctlSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.map(String).join('.') || '(top level)';
    throw new ConfigError(`${shown}: field ${JSON.stringify(field)}: ${issue.message}`, {
      code: 'config.credentials',
    });
  }
  const cfg = parsed.data;
  const warning = checkFilePrivate(path, shown);
  if (warning) o.warn(warning);
  const name = context || cfg.context || DEFAULT_PROFILE;
  const token = name === DEFAULT_PROFILE ? cfg['access-token'] : cfg['auth-contexts']?.[name];
  if (token) return { token, profile: name };
  const field = name === DEFAULT_PROFILE ? 'access-token' : `auth-contexts.${name}`;
  throw new CredentialsError(
    `${shown}: context ${JSON.stringify(name)}: field ${JSON.stringify(field)} missing`,
  );
}
