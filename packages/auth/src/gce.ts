import { createPrivateKey, type KeyObject, sign } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  abortable,
  ConfigError,
  CredentialsError,
  errorMessage,
  PlatformApiError,
  registerSecret,
  UsageError,
} from '@mantle/cluster';
import { z } from 'zod';
import { type EnvRecord, resolveSetting } from './credentials.js';
import {
  checkFilePrivate,
  describeIoError,
  describeIssue,
  expandHome,
  homeDirectory,
  parseCredentialsJson,
  tildePath,
} from './profile-file.js';

/**
 * The Google Cloud reader (kola's `gce`, ore's `gcloud`). mantle knew a service-account key
 * (`--json-key`), the metadata server (`--service-auth`) and, failing both, an interactive OAuth
 * prompt on stdin. This reader never prompts: a service-account key named by `--gce-json-key`, else
 * the metadata server with `--gce-service-auth`, else the key file `$GOOGLE_APPLICATION_CREDENTIALS`
 * names, else gcloud's application default credentials file; none of them is one line listing all
 * four. Files are read and checked here, before any request; tokens are fetched on first use, cached
 * until shortly before they expire, and registered as secrets, as are the keys they come from.
 */

/** mantle's scopes: Compute and full control of Cloud Storage. */
export const gceScopes = [
  'https://www.googleapis.com/auth/compute',
  'https://www.googleapis.com/auth/devstorage.full_control',
] as const;

/** Google's token endpoint, used when a key file names none. */
export const googleTokenUri = 'https://oauth2.googleapis.com/token';

export interface GceAuthOptions {
  /** `--gce-json-key`: a service-account key file; `~` is expanded. */
  jsonKey?: string | undefined;
  /** `--gce-service-auth`: the token of the VM's service account, from the metadata server. */
  serviceAuth?: boolean | undefined;
  /**
   * `--gce-endpoint`: one URL serving Compute, Storage and the token endpoint (private endpoints,
   * emulators). Token requests then go to `<endpoint>/token` whatever the key file says.
   */
  endpoint?: string | undefined;
  /** The environment (`GOOGLE_APPLICATION_CREDENTIALS`, `CLOUDSDK_CONFIG`, `GCE_METADATA_HOST`). */
  env?: EnvRecord;
  /** Home directory for `~` and the default ADC file (tests); default `$HOME`. */
  homeDir?: string;
  scopes?: readonly string[];
  /** The HTTP client for token requests; global fetch by default (tests may pass another). */
  fetch?: typeof fetch;
  onWarning?: (message: string) => void;
}

export type GceKeyOrigin = 'flag' | 'env' | 'default';

export type GceCredentialSource =
  | {
      kind: 'service-account';
      file: string;
      from: GceKeyOrigin;
      clientEmail: string;
      tokenUrl: string;
      projectId?: string;
    }
  | { kind: 'authorized-user'; file: string; from: GceKeyOrigin; tokenUrl: string; projectId?: string }
  | { kind: 'metadata'; url: string };

export interface GceCredentials {
  source: GceCredentialSource;
  /** For logs: `service account ci@p.iam.gserviceaccount.com (--gce-json-key ~/key.json)`. */
  label: string;
  /** The project the credentials belong to, when they say (a key's `project_id`). */
  projectId?: string;
  /** A bearer token valid for at least another minute; concurrent callers share one request. */
  accessToken(signal?: AbortSignal): Promise<string>;
  warnings: string[];
}

const jsonKeyFlag = '--gce-json-key';
const serviceAuthFlag = '--gce-service-auth';
const adcEnv = 'GOOGLE_APPLICATION_CREDENTIALS';

const serviceAccountKey = z.object({
  type: z.literal('service_account'),
  client_email: z.string().min(1),
  private_key: z.string().min(1),
  private_key_id: z.string().optional(),
  token_uri: z.url().optional(),
  project_id: z.string().optional(),
});

const authorizedUser = z.object({
  type: z.literal('authorized_user'),
  client_id: z.string().min(1),
  client_secret: z.string().min(1),
  refresh_token: z.string().min(1),
  token_uri: z.url().optional(),
  quota_project_id: z.string().optional(),
});

const keyTypes = ['service_account', 'authorized_user'];

/** Picks and checks the credential source; see the file comment for the order. */
export function readGceCredentials(opts: GceAuthOptions = {}): GceCredentials {
  const env = opts.env ?? process.env;
  const doFetch = opts.fetch ?? fetch;
  const scopes = opts.scopes ?? gceScopes;
  const warnings: string[] = [];
  const warn = (message: string) => {
    warnings.push(message);
    opts.onWarning?.(message);
  };
  const tokenOverride = opts.endpoint ? `${opts.endpoint.replace(/\/+$/, '')}/token` : undefined;

  if (opts.jsonKey && opts.serviceAuth)
    throw new UsageError(`${jsonKeyFlag} and ${serviceAuthFlag}: give one of them, not both`);

  if (opts.serviceAuth) {
    const host = resolveSetting({ name: 'metadata host', env: 'GCE_METADATA_HOST' }, env).value;
    const url = `http://${host ?? 'metadata.google.internal'}/computeMetadata/v1/instance/service-accounts/default/token`;
    const source: GceCredentialSource = { kind: 'metadata', url };
    return withTokens(source, `the VM's service account (${serviceAuthFlag}, ${url})`, warnings, () =>
      metadataToken(doFetch, url, scopes),
    );
  }

  const key = resolveSetting({ name: 'key file', flag: opts.jsonKey, env: adcEnv }, env);
  let file: string;
  let from: GceKeyOrigin;
  if (key.source === 'flag' || key.source === 'env') {
    file = expandHome(key.value, opts.homeDir);
    from = key.source;
  } else {
    const config = resolveSetting({ name: 'gcloud config dir', env: 'CLOUDSDK_CONFIG' }, env).value;
    file = join(
      config ? expandHome(config, opts.homeDir) : join(homeDirectory(opts.homeDir), '.config', 'gcloud'),
      'application_default_credentials.json',
    );
    from = 'default';
    if (!existsSync(file))
      throw new CredentialsError(
        `gce: no credentials: pass ${jsonKeyFlag} FILE (a service-account key), set $${adcEnv}, run \`gcloud auth application-default login\`, or pass ${serviceAuthFlag} on a GCE VM`,
      );
  }
  const display = tildePath(file, opts.homeDir);
  const origin =
    from === 'flag' ? jsonKeyFlag : from === 'env' ? `$${adcEnv}` : 'application default credentials';
  const parsed = readKeyFile(file, display, origin);
  const privateWarning = checkFilePrivate(file, display);
  if (privateWarning) warn(privateWarning);

  if (parsed.type === 'service_account') {
    const k = validate(serviceAccountKey, parsed.data, display);
    registerSecret(k.private_key);
    let privateKey: KeyObject;
    try {
      privateKey = createPrivateKey(k.private_key);
    } catch (e) {
      throw new ConfigError(`${display}: field "private_key": not a PEM private key (${errorMessage(e)})`, {
        code: 'config.credentials',
        cause: e,
      });
    }
    const tokenUrl = tokenOverride ?? k.token_uri ?? googleTokenUri;
    const source: GceCredentialSource = {
      kind: 'service-account',
      file,
      from,
      clientEmail: k.client_email,
      tokenUrl,
      ...(k.project_id ? { projectId: k.project_id } : {}),
    };
    const audience = k.token_uri ?? googleTokenUri;
    return withTokens(
      source,
      `service account ${k.client_email} (${origin} ${display})`,
      warnings,
      () =>
        oauthToken(doFetch, tokenUrl, k.client_email, {
          grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
          assertion: signedAssertion(k, privateKey, audience, scopes),
        }),
      k.project_id,
    );
  }
  const u = validate(authorizedUser, parsed.data, display);
  registerSecret(u.client_secret);
  registerSecret(u.refresh_token);
  const tokenUrl = tokenOverride ?? u.token_uri ?? googleTokenUri;
  const source: GceCredentialSource = {
    kind: 'authorized-user',
    file,
    from,
    tokenUrl,
    ...(u.quota_project_id ? { projectId: u.quota_project_id } : {}),
  };
  return withTokens(
    source,
    `user credentials (${origin} ${display})`,
    warnings,
    () =>
      oauthToken(doFetch, tokenUrl, `the user of ${display}`, {
        grant_type: 'refresh_token',
        client_id: u.client_id,
        client_secret: u.client_secret,
        refresh_token: u.refresh_token,
      }),
    u.quota_project_id,
  );
}

function readKeyFile(
  file: string,
  display: string,
  origin: string,
): { type: string; data: Record<string, unknown> } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR')
      throw new ConfigError(`gce: no key file ${display} (${origin})`, {
        code: 'config.credentials',
        cause: e,
      });
    throw new CredentialsError(`gce: cannot read key file ${display} (${origin}): ${describeIoError(e)}`, {
      cause: e,
    });
  }
  const data = parseCredentialsJson(text, display);
  if (data === null || typeof data !== 'object' || Array.isArray(data))
    throw new ConfigError(`${display}: expected a JSON object (a Google credentials file)`, {
      code: 'config.credentials',
    });
  const type = (data as Record<string, unknown>).type;
  if (typeof type !== 'string' || !keyTypes.includes(type))
    throw new ConfigError(
      `${display}: field "type": ${type === undefined ? 'missing' : JSON.stringify(type)} (kola reads ${keyTypes.join(' and ')} files)`,
      { code: 'config.credentials' },
    );
  return { type, data: data as Record<string, unknown> };
}

function validate<T>(schema: z.ZodType<T>, data: unknown, display: string): T {
  const result = schema.safeParse(data);
  if (result.success) return result.data;
  const shown = result.error.issues.slice(0, 3).map((issue) => describeIssue(issue, data));
  throw new ConfigError(`${display}: ${shown.join('; ')}`, { code: 'config.credentials' });
}

const base64url = (data: Buffer | string) => Buffer.from(data).toString('base64url');

/** The RS256 JWT a service account trades for an access token (Google's OAuth 2.0 server-to-server flow). */
export function signedAssertion(
  key: { client_email: string; private_key_id?: string | undefined },
  privateKey: KeyObject,
  audience: string,
  scopes: readonly string[],
  nowSeconds = Math.floor(Date.now() / 1000),
): string {
  const header = { alg: 'RS256', typ: 'JWT', ...(key.private_key_id ? { kid: key.private_key_id } : {}) };
  const claims = {
    iss: key.client_email,
    scope: scopes.join(' '),
    aud: audience,
    iat: nowSeconds,
    exp: nowSeconds + 3600,
  };
  const unsigned = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
  return `${unsigned}.${base64url(sign('RSA-SHA256', Buffer.from(unsigned), privateKey))}`;
}

interface Token {
  token: string;
  expiresAt: number;
}

const tokenAnswer = z.object({ access_token: z.string().min(1), expires_in: z.coerce.number().optional() });

async function readToken(response: Response, what: string, url: string): Promise<Token> {
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (!response.ok) {
    const b = (body ?? {}) as { error?: unknown; error_description?: unknown };
    const why =
      typeof b.error === 'string'
        ? `${b.error}${typeof b.error_description === 'string' ? `: ${b.error_description}` : ''}`
        : `HTTP ${response.status}`;
    // 4xx: these credentials will not work (revoked key, wrong audience); 5xx may pass
    if (response.status >= 400 && response.status < 500)
      throw new CredentialsError(`gce: ${url} refused a token for ${what}: ${why}`);
    throw new PlatformApiError({ platform: 'gce', operation: 'token', status: response.status }, why);
  }
  const parsed = tokenAnswer.safeParse(body);
  if (!parsed.success)
    throw new PlatformApiError(
      { platform: 'gce', operation: 'token', status: response.status },
      `${url} answered without an access_token`,
    );
  registerSecret(parsed.data.access_token);
  return {
    token: parsed.data.access_token,
    expiresAt: Date.now() + (parsed.data.expires_in ?? 3600) * 1000,
  };
}

async function oauthToken(
  doFetch: typeof fetch,
  url: string,
  who: string,
  form: Record<string, string>,
  signal?: AbortSignal,
): Promise<Token> {
  let response: Response;
  try {
    response = await doFetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form).toString(),
      ...(signal ? { signal } : {}),
    });
  } catch (e) {
    if (signal?.aborted) throw e;
    throw new PlatformApiError({ platform: 'gce', operation: 'token' }, `${url}: ${errorMessage(e)}`, {
      cause: e,
    });
  }
  return readToken(response, who, url);
}

async function metadataToken(
  doFetch: typeof fetch,
  url: string,
  scopes: readonly string[],
  signal?: AbortSignal,
): Promise<Token> {
  let response: Response;
  const full = `${url}?scopes=${encodeURIComponent(scopes.join(','))}`;
  // off GCE the name does not resolve, or nothing answers: a few seconds, not the run's deadline
  const limit = AbortSignal.timeout(10_000);
  try {
    response = await doFetch(full, {
      headers: { 'Metadata-Flavor': 'Google' },
      signal: signal ? AbortSignal.any([signal, limit]) : limit,
    });
  } catch (e) {
    if (signal?.aborted) throw e;
    throw new CredentialsError(
      `gce: ${serviceAuthFlag}: no metadata server at ${url} (${errorMessage(e)}); it works only on a GCE VM`,
      { cause: e },
    );
  }
  return readToken(response, "the VM's service account", url);
}

function withTokens(
  source: GceCredentialSource,
  label: string,
  warnings: string[],
  fetchToken: (signal?: AbortSignal) => Promise<Token>,
  projectId?: string,
): GceCredentials {
  let cached: Token | undefined;
  let pending: Promise<Token> | undefined;
  return {
    source,
    label,
    ...(projectId ? { projectId } : {}),
    warnings,
    async accessToken(signal) {
      if (cached && cached.expiresAt - Date.now() > 60_000) return cached.token;
      // shared by concurrent callers; one caller's abort must not fail the others' request
      pending ??= fetchToken().finally(() => {
        pending = undefined;
      });
      const p = pending;
      const token = await abortable(p, signal, 'getting a gce access token');
      cached = token;
      return token.token;
    },
  };
}
