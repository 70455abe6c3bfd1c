import type { GcOpenContext, GcResource, GcResourceKind, GcSession } from '@mantle/cluster';
import { type AzureSession, openAzureSession } from '../api/session.js';
import type { AzureOptions } from '../options.js';
import { createdAtTag, ownerTag } from '../tags.js';

/**
 * `ore azure gc`: subscription-wide, every page of each list (mantle read the first page only):
 * - `azure.resource-group`: groups tagged createdBy=mantle whose createdAt tag is past the grace
 *   period; a group without the tag, or with a createdAt that is not a date, is kept and reported
 *   (mantle dereferenced the missing tag and panicked, flatcar/mantle#594). A group already being
 *   deleted is left to ARM.
 * - `azure.image`: managed images ore made, only once their expires-at tag has passed (an image in a
 *   flight's group goes with the group).
 * Deletes are asked for, not waited on: a group takes minutes and cron runs again.
 */

export const kinds = { resourceGroup: 'azure.resource-group', image: 'azure.image' } as const;

interface GroupResource extends GcResource {
  state: string;
}
interface ImageResource extends GcResource {
  group: string;
}

export async function openAzureGc(options: AzureOptions, ctx: GcOpenContext): Promise<GcSession> {
  const session = await openAzureSession(options, ctx.log);
  return {
    identity: { subscription: session.subscriptionId, endpoint: session.endpoint },
    ownerTag: { ...ownerTag },
    locations: ['all locations'],
    kinds: azureGcKinds(session),
  };
}

function createdAtOf(tags: Record<string, string>): Date | undefined {
  const text = tags[createdAtTag];
  if (text === undefined) return undefined;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : new Date(at);
}

const groupOf = (id: string) => /\/resourceGroups\/([^/]+)/i.exec(id)?.[1] ?? '';

export function azureGcKinds(session: AzureSession): GcResourceKind[] {
  const groups: GcResourceKind<GroupResource> = {
    kind: kinds.resourceGroup,
    description: 'resource groups tagged createdBy=mantle, aged by their createdAt tag',
    async *list(ctx) {
      for await (const g of session.resources.resourceGroups.list({ abortSignal: ctx.signal })) {
        const tags = { ...(g.tags ?? {}) };
        const createdAt = createdAtOf(tags);
        yield {
          kind: kinds.resourceGroup,
          id: g.name ?? '',
          ...(g.location ? { location: g.location } : {}),
          ...(createdAt ? { createdAt } : {}),
          tags,
          state: g.properties?.provisioningState ?? '',
        };
      }
    },
    protectedReason: (g) => (g.state === 'Deleting' ? 'already being deleted' : undefined),
    async remove(g, ctx) {
      // beginDelete returns once ARM accepted the delete (202)
      await session.resources.resourceGroups.beginDelete(g.id, { abortSignal: ctx.signal });
    },
  };
  const images: GcResourceKind<ImageResource> = {
    kind: kinds.image,
    description: 'managed images tagged createdBy=mantle whose expires-at tag has passed',
    expiryOnly: true,
    dependsOn: [kinds.resourceGroup],
    async *list(ctx) {
      for await (const i of session.compute.images.list({ abortSignal: ctx.signal })) {
        const tags = { ...(i.tags ?? {}) };
        const createdAt = createdAtOf(tags);
        const group = groupOf(i.id ?? '');
        yield {
          kind: kinds.image,
          id: i.id ?? '',
          name: i.name ?? '',
          ...(i.location ? { location: i.location } : {}),
          ...(createdAt ? { createdAt } : {}),
          tags,
          group,
        };
      }
    },
    protectedReason: (i, ctx) =>
      ctx.isCandidate(kinds.resourceGroup, i.group) ? 'goes with its resource group' : undefined,
    async remove(i, ctx) {
      await session.compute.images.beginDelete(i.group, i.name ?? '', { abortSignal: ctx.signal });
    },
  };
  return [groups as GcResourceKind, images as GcResourceKind];
}
