import { definePlatform, type LedgerEntry } from '@mantle/cluster';
import { gceCommands } from './commands/index.js';
import { type GceOptions, gceOptions } from './options.js';

/** The gce block of properties.json from the options (the flight adds the project and image it resolved). */
export function gceProperties(options: GceOptions): Record<string, unknown> {
  return {
    project: options.project ?? '',
    zone: options.zone,
    machineType: options.machinetype,
    diskType: options.disktype,
    network: options.network,
    image: options.image ?? '',
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
  };
}

/**
 * Google Compute Engine (kola's `gce`, ore's `gcloud`): instances per test with the userdata and SSH
 * keys in their metadata, boot disks deleted with them; `ore gcloud` verbs for images (the raw disk
 * streamed as GCE's sparse tar.gz into a resumable Cloud Storage upload) and GC over every zone. The
 * SDK loads only when a flight, verb or gc runs.
 */
export const platform = definePlatform({
  name: 'gce',
  description: 'Google Compute Engine instances (REST; --gce-endpoint for private endpoints and emulators)',
  options: gceOptions,
  async createFlight(options, ctx) {
    const { GceFlight } = await import('./flight.js');
    return GceFlight.create(options, ctx);
  },
  properties: gceProperties,
  defaultParallelism: () => 4,
  async destroyLedgerEntry(entry: LedgerEntry, options: GceOptions, ctx) {
    const { destroyGceLedgerEntry } = await import('./flight.js');
    await destroyGceLedgerEntry(entry, options, ctx);
  },
  async gc(options, ctx) {
    const { openGceGc } = await import('./gc/index.js');
    return openGceGc(options, ctx);
  },
  commands: gceCommands,
});

export { createGceClients, type GceClients } from './api/clients.js';
export { normaliseImage, sanitizeImageName } from './image.js';
export { type GceOptions, gceOptions } from './options.js';
/** CRC-32C as Cloud Storage keeps it (the emulator's object hashes can use it too). */
export { crc32c, crc32cBase64 } from './upload/crc32c.js';
