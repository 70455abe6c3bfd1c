import { type Route, reply, route } from '../http/routes.js';
import { doRegions } from './catalog.js';
import { type DoContext, listReply } from './context.js';
import { fetchImage } from './image-import.js';
import { DoProgress } from './progress.js';
import { doError, type ImageRecord, notFoundMessage, refuse, unprocessable } from './state.js';

interface CustomImageBody {
  name?: string;
  url?: string;
  region?: string;
  distribution?: string;
  description?: string;
  tags?: string[] | null;
}

const gib = 1024 ** 3;

export function imageRoutes(c: DoContext): Route[] {
  const { state } = c;
  const find = (id: string): ImageRecord => state.findImage(id) ?? refuse(404, 'not_found', notFoundMessage);
  /** An image of this account (not a public one), for the calls that change it. */
  const own = (id: string): ImageRecord => {
    const image = find(id);
    if (image.public) refuse(403, 'forbidden', 'You do not have access to this public image.');
    return image;
  };
  const snapshots = () =>
    [...state.images.values()].filter((i) => i.type === 'snapshot' && state.imageVisible(i));

  /** A custom image: the URL is really read (in the background); a failed read leaves it `deleted`. */
  function importImage(body: CustomImageBody): ImageRecord {
    if (!body.name) unprocessable('name is required');
    if (!body.url) unprocessable('url is required');
    if (!body.region) unprocessable('region is required');
    if (!doRegions.some((r) => r.slug === body.region))
      unprocessable(`You specified an invalid region: ${body.region}.`);
    const tags = body.tags ?? [];
    const image: ImageRecord = {
      id: state.imageId(),
      name: body.name,
      type: 'custom',
      distribution: body.distribution ?? 'Unknown',
      slug: null,
      public: false,
      regions: [body.region],
      transfers: [],
      createdAt: new Date(),
      minDiskSize: null,
      sizeGigabytes: null,
      description: body.description ?? '',
      tags,
      origin: 'custom',
    };
    const url = body.url;
    const read = fetchImage(url, c.signal).then((got) => {
      image.sizeGigabytes = Math.max(0.01, Math.round((got.bytes / 1e9) * 100) / 100);
      image.minDiskSize = Math.max(1, Math.ceil(got.bytes / gib));
      c.log(`do: image ${image.id} (${image.name}) imported: ${got.bytes} bytes, ${got.format}`);
    });
    image.progress = new DoProgress(read, c.timing.importMs, (message) =>
      c.log(`do: image ${image.id} (${image.name}): import failed: ${message}`),
    );
    state.addTags(tags);
    state.images.set(image.id, image);
    return image;
  }

  return [
    route(
      'GET',
      '/v2/images',
      (ctx) => {
        const type = ctx.query.get('type');
        const privateOnly = ctx.query.get('private') === 'true';
        const tag = ctx.query.get('tag_name');
        const images = [...state.images.values()].filter(
          (i) =>
            state.imageVisible(i) &&
            (!privateOnly || !i.public) &&
            (type === null || (type === 'distribution' && i.type === 'base' && i.public)) &&
            (tag === null || i.tags.includes(tag)),
        );
        return listReply(
          'images',
          images.map((i) => state.imageJson(i)),
          ctx,
        );
      },
      { operationId: 'images_list' },
    ),
    route(
      'POST',
      '/v2/images',
      (ctx) => reply(202, { image: state.imageJson(importImage(ctx.body as CustomImageBody)) }),
      { operationId: 'images_create_custom' },
    ),
    route(
      'GET',
      '/v2/images/{image_id}',
      (ctx) => reply(200, { image: state.imageJson(find(ctx.params.image_id)) }),
      {
        operationId: 'images_get',
      },
    ),
    route(
      'PUT',
      '/v2/images/{image_id}',
      (ctx) => {
        const image = own(ctx.params.image_id);
        const body = ctx.body as { name?: string; distribution?: string; description?: string };
        if (body.name !== undefined) image.name = body.name;
        if (body.distribution !== undefined) image.distribution = body.distribution;
        if (body.description !== undefined) image.description = body.description;
        return reply(200, { image: state.imageJson(image) });
      },
      { operationId: 'images_update' },
    ),
    route(
      'DELETE',
      '/v2/images/{image_id}',
      (ctx) => {
        const image = own(ctx.params.image_id);
        // what DigitalOcean answers for an import that failed (its status is `deleted` already)
        if (state.imageStatus(image) === 'deleted')
          unprocessable('Image Can not delete an already deleted image.');
        state.deleteImage(image);
        return reply(204);
      },
      { operationId: 'images_delete' },
    ),
    route(
      'POST',
      '/v2/images/{image_id}/actions',
      (ctx) => {
        const image = own(ctx.params.image_id);
        const body = ctx.body as { type: string; region?: string };
        if (body.type !== 'transfer')
          unprocessable('Only backups can be converted to snapshots, and this account has no backups.');
        const region = doRegions.find((r) => r.slug === body.region);
        if (!region) unprocessable(`You specified an invalid region: ${body.region}.`);
        if (state.imageStatus(image) !== 'available') unprocessable('The image is not available yet.');
        const progress = DoProgress.done(c.timing.actionMs);
        image.transfers.push({ region: region.slug, progress });
        const action = state.addAction({
          type: 'transfer',
          resourceId: image.id,
          resourceType: 'image',
          region,
          progress,
        });
        // the spec's schema is the bare action; its description, example and the real API wrap it
        return reply(201, { action: state.actionJson(action) });
      },
      { operationId: 'imageActions_post' },
    ),
    route(
      'GET',
      '/v2/images/{image_id}/actions/{action_id}',
      (ctx) => state.actionReply(state.actionOf('image', find(ctx.params.image_id).id, ctx.params.action_id)),
      { operationId: 'imageActions_get' },
    ),
    route(
      'GET',
      '/v2/snapshots',
      (ctx) =>
        listReply(
          'snapshots',
          ctx.query.get('resource_type') === 'volume' ? [] : snapshots().map((i) => state.snapshotJson(i)),
          ctx,
        ),
      { operationId: 'snapshots_list' },
    ),
    route(
      'GET',
      '/v2/snapshots/{snapshot_id}',
      (ctx) => {
        const image = snapshots().find((i) => String(i.id) === ctx.params.snapshot_id);
        return image
          ? reply(200, { snapshot: state.snapshotJson(image) })
          : doError(404, 'not_found', notFoundMessage);
      },
      { operationId: 'snapshots_get' },
    ),
    route(
      'DELETE',
      '/v2/snapshots/{snapshot_id}',
      (ctx) => {
        const image = snapshots().find((i) => String(i.id) === ctx.params.snapshot_id);
        if (!image) return doError(404, 'not_found', notFoundMessage);
        state.deleteImage(image);
        return reply(204);
      },
      { operationId: 'snapshots_delete' },
    ),
  ];
}
