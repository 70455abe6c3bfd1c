import { ConfigError, CredentialsError, registerSecret } from '@mantle/cluster';
import { z } from 'zod';
import type { EnvRecord } from './credentials.js';
import {
  defaultConfigPath,
  expandHome,
  MissingConfigFileError,
  readProfileFile,
  tildePath,
} from './profile-file.js';

/**
 * The ESX/vSphere reader: server, user and password for one vCenter or ESXi, each field from (first
 * found wins)
 *   1. `--esx-server`, `--esx-user`, `--esx-password`;
 *   2. govc's `$GOVC_URL` (`[https://][user[:password]@]host[:port][/sdk]`), `$GOVC_USERNAME`,
 *      `$GOVC_PASSWORD`; `$GOVC_INSECURE=1` turns TLS verification off as govc does;
 *   3. mantle's `~/.config/esx.json`, `{"<profile>": {"server": "…", "user": "…", "password": "…"}}`
 *      (`--esx-config-file`, `--esx-profile`, default `default`), read only when a field is still
 *      missing, as mantle.
 * A file named by flag must exist; the default file may be absent. The password is a secret.
 */

export const ESX_CONFIG_FILE = 'esx.json';

const profileSchema = z.object({
  server: z.string().min(1, 'must not be empty').optional(),
  user: z.string().min(1, 'must not be empty').optional(),
  password: z.string().optional(),
});

export interface EsxCredentialOptions {
  server?: string | undefined;
  user?: string | undefined;
  password?: string | undefined;
  configFile?: string | undefined;
  profile?: string | undefined;
  env?: EnvRecord;
  homeDir?: string;
  onWarning?: (message: string) => void;
}

export interface EsxCredentials {
  /** `https://host[:port]/sdk` */
  url: string;
  user: string;
  password: string;
  /** `$GOVC_INSECURE` asked for no TLS verification. */
  insecure: boolean;
  /** Where each came from, for `-v` logs: flag, env, or the file's path and profile. */
  sources: Record<'server' | 'user' | 'password', string>;
  warnings: string[];
}

/** `host`, `host:port`, `https://host/sdk`, `user:pass@host` → URL parts; a bad one is a ConfigError. */
export function parseEsxServer(
  value: string,
  where: string,
): { url: string; user?: string; password?: string } {
  const withScheme = /^[a-z]+:\/\//i.test(value) ? value : `https://${value}`;
  let u: URL;
  try {
    u = new URL(withScheme);
  } catch {
    throw new ConfigError(`${where}: ${JSON.stringify(value)} is not a host, host:port or https:// URL`);
  }
  if (u.protocol !== 'https:')
    throw new ConfigError(`${where}: vSphere is reached over https, not ${u.protocol}`);
  if (!u.hostname) throw new ConfigError(`${where}: no host in ${JSON.stringify(value)}`);
  const user = u.username ? decodeURIComponent(u.username) : undefined;
  const password = u.password ? decodeURIComponent(u.password) : undefined;
  const path = u.pathname === '/' || u.pathname === '' ? '/sdk' : u.pathname;
  return {
    url: `https://${u.host}${path}`,
    ...(user ? { user } : {}),
    ...(password !== undefined ? { password } : {}),
  };
}

export function resolveEsxCredentials(opts: EsxCredentialOptions = {}): EsxCredentials {
  const env = opts.env ?? process.env;
  const warnings: string[] = [];
  let server: { value: string; source: string } | undefined;
  let user: { value: string; source: string } | undefined;
  let password: { value: string; source: string } | undefined;
  const take = (
    cur: { value: string; source: string } | undefined,
    value: string | undefined,
    source: string,
  ): { value: string; source: string } | undefined => cur ?? (value ? { value, source } : undefined);

  if (opts.server) {
    const p = parseEsxServer(opts.server, '--esx-server');
    server = { value: p.url, source: 'flag' };
    user = take(user, p.user, 'flag');
    password = take(password, p.password, 'flag');
  }
  user = take(user, opts.user, 'flag');
  password = take(password, opts.password, 'flag');

  if (env.GOVC_URL) {
    const p = parseEsxServer(env.GOVC_URL, '$GOVC_URL');
    server = take(server, p.url, 'env GOVC_URL');
    user = take(user, p.user, 'env GOVC_URL');
    password = take(password, p.password, 'env GOVC_URL');
  }
  user = take(user, env.GOVC_USERNAME, 'env GOVC_USERNAME');
  password = take(password, env.GOVC_PASSWORD, 'env GOVC_PASSWORD');

  const path = opts.configFile ?? defaultConfigPath(ESX_CONFIG_FILE, opts.homeDir);
  if (!server || !user || !password) {
    try {
      const got = readProfileFile({
        path,
        platform: 'esx',
        schema: profileSchema,
        ...(opts.profile ? { profile: opts.profile } : {}),
        ...(opts.homeDir !== undefined ? { homeDir: opts.homeDir } : {}),
        onWarning: (m) => {
          warnings.push(m);
          opts.onWarning?.(m);
        },
      });
      const shown = `${tildePath(got.path, opts.homeDir)} profile ${got.profile}`;
      if (got.config.server) {
        server = take(server, parseEsxServer(got.config.server, `${shown}: field "server"`).url, shown);
      }
      user = take(user, got.config.user, shown);
      password = take(password, got.config.password, shown);
    } catch (e) {
      if (!(e instanceof MissingConfigFileError) || opts.configFile !== undefined) throw e;
    }
  }

  const missing = [!server && 'server', !user && 'user', !password && 'password'].filter(Boolean);
  if (!server || !user || !password) {
    const file = tildePath(expandHome(path, opts.homeDir), opts.homeDir);
    throw new CredentialsError(
      `esx: no ${missing.join(', ')}: pass --esx-server/--esx-user/--esx-password, set $GOVC_URL/$GOVC_USERNAME/$GOVC_PASSWORD, or write ${file} ({"default": {"server": "…", "user": "…", "password": "…"}})`,
    );
  }
  registerSecret(password.value);
  const insecure = /^(1|true|yes)$/i.test(env.GOVC_INSECURE ?? '');
  return {
    url: server.value,
    user: user.value,
    password: password.value,
    insecure,
    sources: { server: server.source, user: user.source, password: password.source },
    warnings,
  };
}
