import { definePlatform, type LedgerEntry } from '@mantle/cluster';
import { doCommands } from './commands/index.js';
import { type DoOptions, doOptions } from './options.js';

/**
 * DigitalOcean: one SSH key per flight, droplets per test (tagged `mantle` and the run), a typed
 * fetch client for API v2; `ore do` verbs for images and keys, and GC. Nothing but zod loads until
 * a flight, verb or gc runs.
 */
export const platform = definePlatform({
  name: 'do',
  description: 'DigitalOcean droplets (API v2 over fetch; --do-endpoint for emulators)',
  options: doOptions,
  async createFlight(options, ctx) {
    const { DoFlight } = await import('./flight.js');
    return DoFlight.create(options, ctx);
  },
  properties: (o: DoOptions) => ({ region: o.region, size: o.size, image: o.image ?? 'stable' }),
  // Clouds are bound by quota, not cores: a few tests at once unless -j says otherwise.
  defaultParallelism: () => 4,
  async destroyLedgerEntry(entry: LedgerEntry, options: DoOptions, ctx) {
    const { destroyDoLedgerEntry } = await import('./flight.js');
    await destroyDoLedgerEntry(entry, options, ctx);
  },
  async gc(options, ctx) {
    const { openDoGc } = await import('./gc/index.js');
    return openDoGc(options, ctx);
  },
  commands: doCommands,
});

export { type CreateDropletRequest, DoClient } from './api/client.js';
export type { Account, Action, Droplet, Image, Region, SshKey } from './api/schemas.js';
export { DoApiError, DoCredentialsError, DoTransport, isNotFound } from './api/transport.js';
export { installConfig, installUrlOf } from './commands/install-config.js';
export { type DoOptions, doOptions } from './options.js';
export { stagingPrefix } from './spaces.js';
export { ownerTag, parseSshKeyName, runTag, sshKeyFingerprint, tagMap } from './tags.js';
