import type { GcResource, GcResourceKind } from '@mantle/cluster';
import type { GceClients } from '../api/clients.js';
import { allInstances, deleteInstance } from '../api/instances.js';
import { gcTagsOf, ownerLabel } from '../labels.js';

export const instanceKind = 'gce.instance';

export interface InstanceResource extends GcResource {
  status: string;
  deletionProtection: boolean;
}

/**
 * Instances with the owner label or metadata (mantle set only the metadata), every zone and page,
 * in any state: TERMINATED ones too (mantle skipped them, so a stopped instance was never
 * collected). Instances with no `created-by` at all are not listed; one made by someone else shows
 * as kept.
 */
export function instancesKind(
  clients: GceClients,
  zones?: ReadonlySet<string>,
): GcResourceKind<InstanceResource> {
  return {
    kind: instanceKind,
    description:
      'instances (any state, TERMINATED included) with label or metadata created-by=mantle, every zone',
    async *list(ctx) {
      for await (const { zone, instance } of allInstances(clients, { signal: ctx.signal, log: ctx.log })) {
        if (zones && !zones.has(zone)) continue;
        const tags = gcTagsOf(instance.labels, instance.metadata?.items ?? []);
        if (tags[ownerLabel.key] === undefined || !instance.name) continue;
        yield {
          kind: instanceKind,
          id: instance.name,
          location: zone,
          ...(instance.creationTimestamp ? { createdAt: new Date(instance.creationTimestamp) } : {}),
          tags,
          status: instance.status ?? '',
          deletionProtection: instance.deletionProtection === true,
        };
      }
    },
    protectedReason: (r) => (r.deletionProtection ? 'deletion protection is on' : undefined),
    // deletes are awaited: "removed" means the operation finished, not that it was asked for
    async remove(r, ctx) {
      await deleteInstance(clients, r.location ?? '', r.id, { signal: ctx.signal, log: ctx.log });
    },
  };
}
