import { type GcOpenContext, type GcSession, UsageError } from '@mantle/cluster';
import { createGceClients } from '../api/clients.js';
import { gceCall } from '../api/http.js';
import { ownerLabel } from '../labels.js';
import type { GceOptions } from '../options.js';
import { imagesKind } from './images.js';
import { instancesKind } from './instances.js';
import { objectsKind } from './objects.js';

const zonePattern = /^[a-z]+-[a-z]+\d+-[a-z]$/;

/**
 * `ore gcloud gc`: checks the credentials (a token, then the project's zones, which also proves the
 * project is there), and returns the kinds. Without `--gce-zone` every zone is swept: instances come
 * from one aggregatedList over the project, so the number of zones costs nothing.
 */
export async function openGceGc(options: GceOptions, ctx: GcOpenContext): Promise<GcSession> {
  for (const z of ctx.locations)
    if (!zonePattern.test(z))
      throw new UsageError(`--gce-zone ${JSON.stringify(z)}: must look like us-central1-a`);
  const clients = createGceClients(options, { onWarning: (m) => ctx.log.warn(m) });
  try {
    const zonesClient = await clients.zones();
    const [zones] = await gceCall('zones.list', { signal: ctx.signal, log: ctx.log }, () =>
      zonesClient.list({ project: clients.project }, { autoPaginate: false }),
    );
    const known = new Set(zones.flatMap((z) => (z.name ? [z.name] : [])));
    const unknown = ctx.locations.filter((z) => !known.has(z));
    if (unknown.length)
      throw new UsageError(`--gce-zone: no zone ${unknown.join(', ')} in project ${clients.project}`);
    const only = ctx.locations.length && !ctx.allLocations ? new Set(ctx.locations) : undefined;
    return {
      identity: { project: clients.project, credentials: clients.credentials.label },
      ownerTag: { ...ownerLabel },
      locations: only ? [...only] : ['every zone'],
      kinds: [instancesKind(clients, only), imagesKind(clients), objectsKind(clients)],
      close: () => clients.close(),
    };
  } catch (e) {
    await clients.close();
    throw e;
  }
}
