import type { GcResourceKind } from '@mantle/cluster';
import type { GceClients } from '../api/clients.js';
import { deleteImage, projectImages } from '../api/images.js';
import { gcTagsOf, ownerLabel } from '../labels.js';

export const imageKind = 'gce.image';

/** Images ore made (label created-by=mantle) whose expires-at label has passed; never by age alone. */
export function imagesKind(clients: GceClients): GcResourceKind {
  return {
    kind: imageKind,
    description:
      'images labelled created-by=mantle whose expires-at has passed (ore gcloud upload --expires-in)',
    expiryOnly: true,
    async *list(ctx) {
      for await (const image of projectImages(clients, { signal: ctx.signal, log: ctx.log })) {
        const tags = gcTagsOf(image.labels);
        if (tags[ownerLabel.key] === undefined || !image.name) continue;
        yield {
          kind: imageKind,
          id: image.name,
          location: 'global',
          ...(image.creationTimestamp ? { createdAt: new Date(image.creationTimestamp) } : {}),
          tags,
          ...(image.family ? { name: `${image.name} (family ${image.family})` } : {}),
        };
      }
    },
    async remove(r, ctx) {
      await deleteImage(clients, r.id, { signal: ctx.signal, log: ctx.log });
    },
  };
}
