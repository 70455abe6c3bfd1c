import {
  expiresAtTag,
  type GcOpenContext,
  type GcResource,
  type GcResourceKind,
  type GcSession,
} from '@mantle/cluster';
import { type AzureSession, openAzureSession } from '../api/session.js';
import { type AzureOptions, blobServiceUrl } from '../options.js';
import { createdAtTag, ownerTag } from '../tags.js';

/**
 * `ore azure gc`: subscription-wide, every page of each list (mantle read the first page only):
 * - `azure.resource-group`: groups tagged createdBy=mantle whose createdAt tag is past the grace
 *   period; a group without the tag, or with a createdAt that is not a date, is kept and reported
 *   (mantle dereferenced the missing tag and panicked, flatcar/mantle#594). A group already being
 *   deleted is left to ARM.
 * - `azure.image`: managed images ore made, only once their expires-at tag has passed (an image in a
 *   flight's group goes with the group).
 * - `azure.blob`: page blobs `ore azure upload-blob` made (metadata createdBy=mantle), in every storage
 *   account of the subscription, only once their expiresAt metadata has passed; a leased blob (a copy
 *   or disk is reading it) is kept. An account whose keys cannot be listed is reported and skipped.
 * Deletes are asked for, not waited on: a group takes minutes and cron runs again.
 */

export const kinds = {
  resourceGroup: 'azure.resource-group',
  image: 'azure.image',
  blob: 'azure.blob',
} as const;

interface GroupResource extends GcResource {
  state: string;
}
interface ImageResource extends GcResource {
  group: string;
}
interface BlobResource extends GcResource {
  delete(signal: AbortSignal): Promise<unknown>;
  leased: boolean;
}

export async function openAzureGc(options: AzureOptions, ctx: GcOpenContext): Promise<GcSession> {
  const session = await openAzureSession(options, ctx.log);
  return {
    identity: { subscription: session.subscriptionId, endpoint: session.endpoint },
    ownerTag: { ...ownerTag },
    locations: ['all locations'],
    kinds: [...azureGcKinds(session), blobKind(session, options, ctx)],
  };
}

/**
 * Blob metadata names are identifiers (no `expires-at`) and come back in whatever case the service
 * keeps: the upload's createdBy / createdAt / expiresAt, read case-insensitively, as the engine's tags.
 */
export function blobTags(metadata: Record<string, string> = {}): Record<string, string> {
  const tags: Record<string, string> = {};
  const names: Record<string, string> = {
    [ownerTag.key.toLowerCase()]: ownerTag.key,
    [createdAtTag.toLowerCase()]: createdAtTag,
    expiresat: expiresAtTag,
  };
  for (const [name, value] of Object.entries(metadata)) tags[names[name.toLowerCase()] ?? name] = value;
  return tags;
}

function blobKind(session: AzureSession, options: AzureOptions, open: GcOpenContext): GcResourceKind {
  const blobs: GcResourceKind<BlobResource> = {
    kind: kinds.blob,
    description: 'page blobs ore upload-blob made (createdBy=mantle metadata) whose expiresAt has passed',
    expiryOnly: true,
    async *list(ctx) {
      const { BlobServiceClient, StorageSharedKeyCredential } = await import('@azure/storage-blob');
      for await (const account of session.storage.storageAccounts.list({ abortSignal: ctx.signal })) {
        const name = account.name ?? '';
        const keys = await session.storage.storageAccounts
          .listKeys(groupOf(account.id ?? ''), name, { abortSignal: ctx.signal })
          .catch((e: Error) => {
            open.log.warn(
              `azure gc: storage account ${name}: its keys could not be listed (${e.message}); its blobs are not looked at`,
            );
            return undefined;
          });
        const key = keys?.keys?.[0]?.value;
        if (!key) continue;
        const service = new BlobServiceClient(
          blobServiceUrl(options, name),
          new StorageSharedKeyCredential(name, key),
        );
        for await (const container of service.listContainers({ abortSignal: ctx.signal })) {
          const client = service.getContainerClient(container.name);
          for await (const blob of client.listBlobsFlat({ includeMetadata: true, abortSignal: ctx.signal })) {
            const tags = blobTags(blob.metadata);
            const createdAt = createdAtOf(tags);
            yield {
              kind: kinds.blob,
              id: `${name}/${container.name}/${blob.name}`,
              ...(account.location ? { location: account.location } : {}),
              ...(createdAt ? { createdAt } : {}),
              tags,
              leased: blob.properties.leaseState === 'leased',
              delete: (signal) => client.getBlobClient(blob.name).delete({ abortSignal: signal }),
            };
          }
        }
      }
    },
    protectedReason: (b) => (b.leased ? 'leased (a copy or a disk is reading it)' : undefined),
    async remove(b, ctx) {
      await b.delete(ctx.signal);
    },
  };
  return blobs as GcResourceKind;
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
