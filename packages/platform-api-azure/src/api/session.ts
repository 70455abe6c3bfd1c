import type { ComputeManagementClient } from '@azure/arm-compute';
import type { NetworkManagementClient } from '@azure/arm-network';
import type { ResourceManagementClient } from '@azure/arm-resources';
import type { StorageManagementClient } from '@azure/arm-storage';
import type { TokenCredential } from '@azure/identity';
import { resolveAzureCredentials } from '@mantle/auth';
import { type Logger, parseDuration } from '@mantle/cluster';
import type { AzureOptions } from '../options.js';

/** The Resource Manager clients of one subscription, with the credential they share. */
export interface AzureSession {
  subscriptionId: string;
  endpoint: string;
  credential: TokenCredential;
  resources: ResourceManagementClient;
  compute: ComputeManagementClient;
  network: NetworkManagementClient;
  storage: StorageManagementClient;
  /** `updateIntervalInMs` for long-running operations (Retry-After wins when Azure sends one). */
  pollMs: number;
}

/**
 * Clients for the options' endpoint. Credentials: mantle's auth file (a service principal through
 * ClientSecretCredential at the file's or --azure-authority-host's authority), else the standard
 * chain without anything interactive (environment, workload identity, managed identity, Azure CLI).
 * The SDKs retry 429 and 5xx themselves, honouring Retry-After. The SDKs load here, not before.
 */
export async function openAzureSession(options: AzureOptions, log: Logger): Promise<AzureSession> {
  const found = resolveAzureCredentials({
    authFile: options.auth,
    profileFile: options.profile,
    subscription: options.subscription,
    onWarning: (m) => log.warn(m),
  });
  log.debug('azure: credentials', {
    subscription: found.subscriptionId,
    source: found.subscriptionSource,
    ...(found.auth
      ? { authFile: found.auth.path }
      : { chain: 'DefaultAzureCredential (environment, workload identity, managed identity, Azure CLI…)' }),
  });
  const identity = await import('@azure/identity');
  const authorityHost = options.authorityHost ?? found.auth?.activeDirectoryEndpointUrl;
  const credential: TokenCredential = found.auth
    ? new identity.ClientSecretCredential(found.auth.tenantId, found.auth.clientId, found.auth.clientSecret, {
        ...(authorityHost ? { authorityHost } : {}),
        // instance discovery asks login.microsoftonline.com about the authority: not for sovereign or emulated ones
        ...(options.authorityHost ? { disableInstanceDiscovery: true } : {}),
      })
    : // DefaultAzureCredential is the non-interactive chain; it skips the members that are not set up
      new identity.DefaultAzureCredential(
        options.authorityHost ? { authorityHost: options.authorityHost, disableInstanceDiscovery: true } : {},
      );
  const endpoint = options.endpoint.replace(/\/+$/, '');
  const scopes = [`${endpoint}/.default`];
  const [
    { ComputeManagementClient },
    { NetworkManagementClient },
    { ResourceManagementClient },
    { StorageManagementClient },
  ] = await Promise.all([
    import('@azure/arm-compute'),
    import('@azure/arm-network'),
    import('@azure/arm-resources'),
    import('@azure/arm-storage'),
  ]);
  // two client generations: the modular ones (compute, storage) take credentials.scopes, the classic
  // ones (network, resources) credentialScopes
  return {
    subscriptionId: found.subscriptionId,
    endpoint,
    credential,
    compute: new ComputeManagementClient(credential, found.subscriptionId, {
      endpoint,
      credentials: { scopes },
    }),
    storage: new StorageManagementClient(credential, found.subscriptionId, {
      endpoint,
      credentials: { scopes },
    }),
    network: new NetworkManagementClient(credential, found.subscriptionId, {
      endpoint,
      credentialScopes: scopes,
    }),
    resources: new ResourceManagementClient(credential, found.subscriptionId, {
      endpoint,
      credentialScopes: scopes,
    }),
    pollMs: parseDuration(options.pollInterval, '--azure-poll-interval'),
  };
}
