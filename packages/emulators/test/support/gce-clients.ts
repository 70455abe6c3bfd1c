import { createPrivateKey, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import {
  DisksClient,
  GlobalOperationsClient,
  ImagesClient,
  InstancesClient,
  ZoneOperationsClient,
  ZonesClient,
} from '@google-cloud/compute';
import { Storage, type StorageOptions } from '@google-cloud/storage';

// The real SDK clients pointed at a GCE emulator, as a platform configures them: Compute over REST
// (`fallback`), http, the emulator's host and port; Storage with `apiEndpoint` and
// `useAuthWithCustomEndpoint` (else it sends no credentials to a custom endpoint). Both get an
// OAuth2Client of the google-auth-library each SDK bundles, holding a token from the key file's
// token_uri. Storage's resumable uploads need the token once more, as a request interceptor.

const require = createRequire(import.meta.url);
/** The google-auth-library each SDK was built with (10.x under google-gax, 9.x under storage). */
const gaxAuth = createRequire(require.resolve('@google-cloud/compute'))('google-gax').googleAuthLibrary;
const storageAuth = createRequire(require.resolve('@google-cloud/storage'))('google-auth-library');

interface KeyFile {
  client_email: string;
  private_key: string;
  private_key_id: string;
  token_uri: string;
}

export const scopes = [
  'https://www.googleapis.com/auth/compute',
  'https://www.googleapis.com/auth/devstorage.full_control',
];

/** The RS256 JWT-bearer assertion of a service-account key (Google's server-to-server flow). */
export function assertion(
  key: KeyFile,
  claims: Record<string, unknown> = {},
  now = Math.floor(Date.now() / 1000),
): string {
  const header = { alg: 'RS256', typ: 'JWT', kid: key.private_key_id };
  const body = {
    iss: key.client_email,
    scope: scopes.join(' '),
    aud: key.token_uri,
    iat: now,
    exp: now + 3600,
    ...claims,
  };
  const unsigned = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(body)).toString('base64url')}`;
  return `${unsigned}.${sign('RSA-SHA256', Buffer.from(unsigned), createPrivateKey(key.private_key)).toString('base64url')}`;
}

export function readKey(file: string): KeyFile {
  return JSON.parse(readFileSync(file, 'utf8')) as KeyFile;
}

/** The JWT-bearer grant at a token endpoint: its status and JSON answer. */
export async function grant(
  tokenUri: string,
  jwt: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(tokenUri, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: jwt }),
  });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

/** An access token from the key file's token endpoint. */
export async function accessToken(keyFile: string): Promise<string> {
  const key = readKey(keyFile);
  const { status, body } = await grant(key.token_uri, assertion(key));
  if (status !== 200) throw new Error(`token: ${status} ${JSON.stringify(body)}`);
  return String(body.access_token);
}

type Interceptor = Storage['interceptors'][number];

export interface GceClients {
  instances: InstancesClient;
  zoneOperations: ZoneOperationsClient;
  globalOperations: GlobalOperationsClient;
  images: ImagesClient;
  disks: DisksClient;
  zones: ZonesClient;
  storage: Storage;
  close(): Promise<void>;
}

type ComputeOptions = NonNullable<ConstructorParameters<typeof InstancesClient>[0]>;

/**
 * Compute over REST at the emulator. (Not `keyFilename`: google-auth-library then trades the key at
 * oauth2.googleapis.com, whatever the key's token_uri says.)
 */
export function computeOptions(endpoint: string, token: string): ComputeOptions {
  const url = new URL(endpoint);
  return {
    apiEndpoint: url.hostname,
    port: Number(url.port),
    protocol: 'http',
    fallback: true,
    authClient: oauthClient(gaxAuth, token) as ComputeOptions['authClient'],
  };
}

function oauthClient(
  library: { OAuth2Client: new () => { setCredentials(c: object): void } },
  token: string,
) {
  const client = new library.OAuth2Client();
  client.setCredentials({ access_token: token, expiry_date: Date.now() + 3_000_000, token_type: 'Bearer' });
  return client;
}

export function gceClients(endpoint: string, project: string, token: string): GceClients {
  const options = computeOptions(endpoint, token);
  const clients = {
    instances: new InstancesClient(options),
    zoneOperations: new ZoneOperationsClient(options),
    globalOperations: new GlobalOperationsClient(options),
    images: new ImagesClient(options),
    disks: new DisksClient(options),
    zones: new ZonesClient(options),
  };
  const storage = new Storage({
    apiEndpoint: endpoint,
    projectId: project,
    useAuthWithCustomEndpoint: true,
    authClient: oauthClient(storageAuth, token) as StorageOptions['authClient'],
    retryOptions: { autoRetry: false },
  });
  // storage 7.22 sends a resumable upload's chunks without credentials to a custom endpoint (its
  // createWriteStream does not pass useAuthWithCustomEndpoint on): a request interceptor adds them
  storage.interceptors.push({
    request: (options) => {
      options.headers = { ...options.headers, Authorization: `Bearer ${token}` };
      return options as ReturnType<Interceptor['request']>;
    },
  });
  return {
    ...clients,
    storage,
    async close() {
      await Promise.all(Object.values(clients).map((c) => c.close()));
    },
  };
}
