import type { InstancesClient, ZoneOperationsClient, ZonesClient } from '@google-cloud/compute';
import { type GceCredentials, readGceCredentials } from '@mantle/auth';
import { ConfigError } from '@mantle/cluster';
import type { GceOptions } from '../options.js';
import { BearerAuthClient } from './http.js';

/** Google's Storage and Compute endpoints; `--gce-endpoint` replaces both with one URL. */
export const storageBaseUrl = 'https://storage.googleapis.com';
export const computeBaseUrl = 'https://compute.googleapis.com';

/**
 * The Compute clients (REST, through the bearer auth client) and the Storage base URL for one set of
 * options. Compute clients are made on first use (each loads the SDK's protos). No kola concepts
 * live in `api/`.
 */
export interface GceClients {
  readonly project: string;
  readonly credentials: GceCredentials;
  readonly auth: BearerAuthClient;
  /** Where the Storage JSON API (`/storage/v1`) and uploads (`/upload/storage/v1`) are. */
  readonly storageUrl: string;
  /**
   * Compute's REST root (`…/compute/v1`), for the calls made without the SDK: images and global
   * operations, which `ore gcloud upload` and the image verbs need; loading the SDK (its protos)
   * costs more CPU than a whole image upload (docs/performance.md).
   */
  readonly computeUrl: string;
  instances(): Promise<InstancesClient>;
  zoneOperations(): Promise<ZoneOperationsClient>;
  zones(): Promise<ZonesClient>;
  close(): Promise<void>;
}

/** `--gce-endpoint` as the SDK's host/port/protocol options; a path is refused (the SDK ignores it). */
export function computeEndpointOptions(endpoint: string | undefined): Record<string, unknown> {
  if (!endpoint) return {};
  const url = new URL(endpoint);
  if (url.pathname !== '/' && url.pathname !== '')
    throw new ConfigError(`--gce-endpoint ${endpoint}: give the origin only (the APIs' paths are added)`);
  const protocol = url.protocol.replace(/:$/, '');
  return {
    apiEndpoint: url.hostname,
    port: url.port ? Number(url.port) : protocol === 'http' ? 80 : 443,
    protocol,
  };
}

/** The project: `--gce-project`/`$GOOGLE_CLOUD_PROJECT`, else the credentials'. */
export function resolveProject(options: Pick<GceOptions, 'project'>, credentials: GceCredentials): string {
  const project = options.project ?? credentials.projectId;
  if (!project)
    throw new ConfigError('--gce-project is required', {
      hint: `the credentials (${credentials.label}) name no project; pass --gce-project or set $GOOGLE_CLOUD_PROJECT`,
    });
  return project;
}

export interface GceClientSettings {
  /** Where a credentials-file warning goes; default a line on stderr. */
  onWarning?: (message: string) => void;
  /** Credentials already read (tests, or a session reusing them). */
  credentials?: GceCredentials;
}

/** Reads the credentials (files checked now, tokens on first use) and prepares the clients. */
export function createGceClients(options: GceOptions, settings: GceClientSettings = {}): GceClients {
  const credentials =
    settings.credentials ??
    readGceCredentials({
      jsonKey: options.jsonKey,
      serviceAuth: options.serviceAuth,
      endpoint: options.endpoint,
      onWarning: settings.onWarning ?? ((m) => process.stderr.write(`warning: ${m}\n`)),
    });
  const project = resolveProject(options, credentials);
  const auth = new BearerAuthClient(credentials);
  const sdkOptions = { fallback: true, authClient: auth, ...computeEndpointOptions(options.endpoint) };
  const made: Array<{ close(): Promise<void> }> = [];
  const lazy = <T extends { close(): Promise<void> }>(
    make: (sdk: typeof import('@google-cloud/compute')) => T,
  ) => {
    let client: T | undefined;
    return async () => {
      if (!client) {
        client = make(await import('@google-cloud/compute'));
        made.push(client);
      }
      return client;
    };
  };
  return {
    project,
    credentials,
    auth,
    storageUrl: (options.endpoint ?? storageBaseUrl).replace(/\/+$/, ''),
    computeUrl: `${(options.endpoint ?? computeBaseUrl).replace(/\/+$/, '')}/compute/v1`,
    instances: lazy((sdk) => new sdk.InstancesClient(sdkOptions as never)),
    zoneOperations: lazy((sdk) => new sdk.ZoneOperationsClient(sdkOptions as never)),
    zones: lazy((sdk) => new sdk.ZonesClient(sdkOptions as never)),
    async close() {
      await Promise.allSettled(made.map((c) => c.close()));
    },
  };
}
