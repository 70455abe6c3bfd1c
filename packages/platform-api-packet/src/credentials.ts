import { resolvePacketCredentials } from '@mantle/auth';
import type { Logger } from '@mantle/cluster';
import { MetalClient } from './api/client.js';
import type { MetalTransportOptions } from './api/transport.js';
import type { PacketOptions } from './options.js';

/** A client for the options' endpoint and project, with the key found by @mantle/auth (a secret there). */
export function createMetalClient(
  options: PacketOptions,
  log: Logger,
  extra: Partial<MetalTransportOptions> = {},
): MetalClient {
  const found = resolvePacketCredentials({
    apiKey: options.apiKey,
    project: options.project,
    configFile: options.configFile,
    profile: options.profile,
    onWarning: (m) => log.warn(m),
  });
  log.debug('packet: credentials', { ...found.sources, ...(found.path ? { path: found.path } : {}) });
  return new MetalClient({ endpoint: options.endpoint, apiKey: found.apiKey, log, ...extra }, found.project);
}
