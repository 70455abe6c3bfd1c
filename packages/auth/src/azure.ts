import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, CredentialsError, registerSecret } from '@mantle/cluster';
import { z } from 'zod';
import type { EnvRecord } from './credentials.js';
import {
  checkFilePrivate,
  describeIoError,
  describeJsonError,
  expandHome,
  homeDirectory,
  MissingConfigFileError,
  tildePath,
} from './profile-file.js';

/**
 * The Azure readers, mantle's two files:
 *   - the SDK auth file (`--azure-auth`, else `$AZURE_AUTH_LOCATION`, else `~/.azure/credentials.json`):
 *     `{clientId, clientSecret, subscriptionId, tenantId, activeDirectoryEndpointUrl,
 *     resourceManagerEndpointUrl, …}`, a service principal;
 *   - the xplat-cli profile (`--azure-profile`, else `~/.azure/azureProfile.json`):
 *     `{subscriptions: [{id, name, isDefault, tenantId, …}]}`, which only names subscriptions here.
 *     Unlike mantle it is optional (the ARM clients never needed it).
 * Both may start with a UTF-8 BOM (the Azure CLI writes one). Without an auth file the platform uses
 * the standard non-interactive chain (environment, workload identity, managed identity, Azure CLI).
 * A file named by flag or variable must exist; an absent default is skipped. Every problem is one line
 * naming the file and the field.
 */

export const AZURE_AUTH_FILE = join('.azure', 'credentials.json');
export const AZURE_PROFILE_FILE = join('.azure', 'azureProfile.json');

const authFileSchema = z.looseObject({
  clientId: z.string().min(1, 'must not be empty'),
  clientSecret: z.string().min(1, 'must not be empty'),
  subscriptionId: z.string().min(1, 'must not be empty'),
  tenantId: z.string().min(1, 'must not be empty'),
  activeDirectoryEndpointUrl: z.url('must be a URL').optional(),
  resourceManagerEndpointUrl: z.url('must be a URL').optional(),
});

export type AzureAuthFile = z.output<typeof authFileSchema> & { path: string };

const profileSchema = z.looseObject({
  subscriptions: z
    .array(
      z.looseObject({
        id: z.string().min(1, 'must not be empty'),
        name: z.string(),
        isDefault: z.boolean().optional(),
        tenantId: z.string().optional(),
      }),
    )
    .min(1, 'must list at least one subscription'),
});

export type AzureProfileSubscription = z.output<typeof profileSchema>['subscriptions'][number];

export interface AzureCredentialOptions {
  /** `--azure-auth`; given = must exist. */
  authFile?: string | undefined;
  /** `--azure-profile`; given = must exist. */
  profileFile?: string | undefined;
  /** `--azure-subscription`: a name (looked up in the profile) or an id. */
  subscription?: string | undefined;
  env?: EnvRecord;
  homeDir?: string;
  onWarning?: (message: string) => void;
}

export interface AzureCredentials {
  /** The service principal of the auth file; undefined = use the standard credential chain. */
  auth: AzureAuthFile | undefined;
  subscriptionId: string;
  /** Where the subscription came from, for messages. */
  subscriptionSource: 'flag' | 'auth-file' | 'profile' | 'env';
  /** The tenant, when a file names it. */
  tenantId: string | undefined;
  warnings: string[];
}

const uuidLike = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Reads a JSON file (BOM tolerated); undefined when it is absent and `optional`. */
function readJson(path: string, shown: string, optional: boolean, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      if (optional) return undefined;
      throw new MissingConfigFileError(`azure: no ${what} at ${shown}`, path, shown);
    }
    throw new CredentialsError(`${shown}: cannot read: ${describeIoError(e)}`, { cause: e });
  }
  text = text.replace(/^\uFEFF/, '');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${shown}: not valid JSON: ${describeJsonError(e, text)}`, {
      code: 'config.credentials',
    });
  }
}

function validate<T>(schema: z.ZodType<T>, data: unknown, shown: string): T {
  const parsed = schema.safeParse(data);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const field = issue.path.map(String).join('.') || '(top level)';
  const message = issue.code === 'invalid_type' && issue.input === undefined ? 'missing' : issue.message;
  throw new ConfigError(`${shown}: field ${JSON.stringify(field)}: ${message}`, {
    code: 'config.credentials',
  });
}

/** mantle's SDK auth file at `path` (`~` expanded). */
export function readAzureAuthFile(
  path: string,
  o: { optional?: boolean; homeDir?: string; onWarning?: (m: string) => void } = {},
): AzureAuthFile | undefined {
  const full = expandHome(path, o.homeDir);
  const shown = tildePath(full, o.homeDir);
  const data = readJson(full, shown, o.optional === true, 'auth file');
  if (data === undefined) return undefined;
  const auth = validate(authFileSchema, data, shown);
  const warning = checkFilePrivate(full, shown);
  if (warning) o.onWarning?.(warning);
  registerSecret(auth.clientSecret);
  return { ...auth, path: full };
}

/** The subscriptions of an xplat-cli profile file. */
export function readAzureProfile(
  path: string,
  o: { optional?: boolean; homeDir?: string } = {},
): { path: string; subscriptions: AzureProfileSubscription[] } | undefined {
  const full = expandHome(path, o.homeDir);
  const shown = tildePath(full, o.homeDir);
  const data = readJson(full, shown, o.optional === true, 'profile file');
  if (data === undefined) return undefined;
  return { path: full, subscriptions: validate(profileSchema, data, shown).subscriptions };
}

/** The auth file, the profile and the subscription the options name (see the module comment). */
export function resolveAzureCredentials(opts: AzureCredentialOptions = {}): AzureCredentials {
  const env = opts.env ?? process.env;
  const home = opts.homeDir;
  const warnings: string[] = [];
  const warn = (m: string) => {
    warnings.push(m);
    opts.onWarning?.(m);
  };
  const named = opts.authFile || env.AZURE_AUTH_LOCATION;
  const auth = readAzureAuthFile(named || join(homeDirectory(home), AZURE_AUTH_FILE), {
    optional: !named,
    onWarning: warn,
    ...(home !== undefined ? { homeDir: home } : {}),
  });
  const profile = readAzureProfile(opts.profileFile || join(homeDirectory(home), AZURE_PROFILE_FILE), {
    optional: !opts.profileFile,
    ...(home !== undefined ? { homeDir: home } : {}),
  });
  const result = (
    subscriptionId: string,
    subscriptionSource: AzureCredentials['subscriptionSource'],
    tenant?: string,
  ) => ({
    auth,
    subscriptionId,
    subscriptionSource,
    tenantId: auth?.tenantId ?? tenant,
    warnings,
  });

  if (opts.subscription) {
    const wanted = opts.subscription;
    const found = profile?.subscriptions.find(
      (s) => s.name === wanted || s.id.toLowerCase() === wanted.toLowerCase(),
    );
    if (found) return result(found.id, 'flag', found.tenantId);
    if (uuidLike.test(wanted)) return result(wanted, 'flag');
    const where = profile ? tildePath(profile.path, home) : `~/${AZURE_PROFILE_FILE} (absent)`;
    throw new ConfigError(
      `--azure-subscription: no subscription named ${JSON.stringify(wanted)} in ${where}; pass a subscription id or a name the profile lists`,
    );
  }
  if (auth) return result(auth.subscriptionId, 'auth-file');
  if (profile) {
    const chosen = profile.subscriptions.find((s) => s.isDefault) ?? profile.subscriptions[0]!;
    return result(chosen.id, 'profile', chosen.tenantId);
  }
  if (env.AZURE_SUBSCRIPTION_ID) return result(env.AZURE_SUBSCRIPTION_ID, 'env');
  throw new CredentialsError(
    `azure: no subscription: pass --azure-subscription, set $AZURE_SUBSCRIPTION_ID, or write an auth file (--azure-auth, $AZURE_AUTH_LOCATION or ~/${AZURE_AUTH_FILE})`,
  );
}
