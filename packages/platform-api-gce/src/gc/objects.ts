import type { GcResource, GcResourceKind } from '@mantle/cluster';
import type { GceClients } from '../api/clients.js';
import { googlePages } from '../api/http.js';
import { deleteObject, listObjects } from '../api/storage.js';
import { gcTagsOf, ownerLabel } from '../labels.js';
import { imageKind } from './images.js';

export const objectKind = 'gce.upload-object';

interface ObjectResource extends GcResource {
  bucket: string;
  object: string;
}

interface Bucket {
  name: string;
  labels?: Record<string, string>;
}

/** The project's buckets labelled created-by=mantle (the ones ore gcloud upload made), every page. */
async function* ownedBuckets(clients: GceClients, signal: AbortSignal) {
  const buckets = googlePages<Bucket>(
    clients.auth,
    'storage.buckets.list',
    `${clients.storageUrl}/storage/v1/b`,
    { project: clients.project, maxResults: '1000' },
    { signal },
  );
  for await (const b of buckets) if (b.labels?.[ownerLabel.key] === ownerLabel.value) yield b.name;
}

/**
 * Image tarballs ore uploaded with an expiry (metadata created-by=mantle, expires-at), in the
 * project's buckets labelled created-by=mantle; collected only once expired. Listed after images, so
 * an image made from one goes first.
 */
export function objectsKind(clients: GceClients): GcResourceKind<ObjectResource> {
  return {
    kind: objectKind,
    description:
      'objects ore gcloud upload made with --expires-in, once expired, in buckets labelled created-by=mantle',
    expiryOnly: true,
    dependsOn: [imageKind],
    async *list(ctx) {
      for await (const bucket of ownedBuckets(clients, ctx.signal))
        for await (const o of listObjects(clients, bucket, '', { signal: ctx.signal, log: ctx.log })) {
          const tags = gcTagsOf(
            undefined,
            Object.entries(o.metadata ?? {}).map(([key, value]) => ({ key, value })),
          );
          if (tags[ownerLabel.key] === undefined) continue;
          yield {
            kind: objectKind,
            id: `gs://${bucket}/${o.name}`,
            location: 'storage',
            ...(o.timeCreated ? { createdAt: new Date(o.timeCreated) } : {}),
            tags,
            bucket,
            object: o.name,
          };
        }
    },
    async remove(r, ctx) {
      await deleteObject(clients, r.bucket, r.object, { signal: ctx.signal, log: ctx.log });
    },
  };
}
