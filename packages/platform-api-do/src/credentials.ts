import { resolveDigitalOceanToken } from '@mantle/auth';
import type { Logger } from '@mantle/cluster';
import { DoClient, type DoClientTuning } from './api/client.js';
import type { DoTransportOptions } from './api/transport.js';
import type { DoOptions } from './options.js';

/**
 * A client for the options' endpoint with the token found by @mantle/auth (flag, environment,
 * mantle's profiles, doctl's config). The token is registered as a secret there: no log shows it.
 */
export function createDoClient(
  options: DoOptions,
  log: Logger,
  extra: Partial<DoTransportOptions> & DoClientTuning = {},
): DoClient {
  const found = resolveDigitalOceanToken({
    token: options.token,
    configFile: options.configFile,
    profile: options.profile,
    onWarning: (m) => log.warn(m),
  });
  log.debug('do: API token', {
    source: found.source,
    ...(found.env ? { env: found.env } : {}),
    ...(found.path ? { path: found.path } : {}),
    ...(found.profile ? { profile: found.profile } : {}),
  });
  return new DoClient({ endpoint: options.endpoint, token: found.token, log, ...extra });
}
