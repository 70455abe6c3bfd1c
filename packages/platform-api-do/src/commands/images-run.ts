import { ConfigError } from '@mantle/cluster';
import { createDoClient } from '../credentials.js';
import { ownerTag, tagMap } from '../tags.js';
import type { DoVerbInput, nameOnlyOptions, noOptions } from './schemas.js';

/**
 * `ore do delete-image --name N`: deletes the account's image (custom image or snapshot) of exactly
 * that name, in any region, as mantle does; more than one of that name is an error naming their ids.
 */
export async function runDeleteImage(input: DoVerbInput<typeof nameOnlyOptions>): Promise<number> {
  const { options, platformOptions, signal, io, log } = input;
  const client = createDoClient(platformOptions, log);
  const named = (await client.userImages(signal)).filter((i) => i.name === options.name);
  if (named.length === 0) throw new ConfigError(`--name ${options.name}: no image of yours has that name`);
  if (named.length > 1)
    throw new ConfigError(
      `--name ${options.name}: ${named.length} images have that name (${named.map((i) => i.id).join(', ')}); delete them in the control panel or rename them`,
    );
  const image = named[0]!;
  await client.deleteImage(image.id, signal);
  io.result({ deleted: image.id, name: options.name }, `deleted image ${image.id} (${options.name})\n`);
  return 0;
}

/** `ore do list-images`: the account's custom images and snapshots; `ore` marks those ore made. */
export async function runListImages(input: DoVerbInput<typeof noOptions>): Promise<number> {
  const { platformOptions, signal, io, log } = input;
  const client = createDoClient(platformOptions, log);
  const images = (await client.userImages(signal)).map((i) => {
    const tags = tagMap(i.tags);
    return {
      id: i.id,
      name: i.name ?? '',
      type: i.type ?? '',
      status: i.status ?? '',
      regions: (i.regions ?? []).join(','),
      created: i.created_at ?? '',
      ore: ownerTag in tags,
      ...(tags['expires-at'] ? { expiresAt: tags['expires-at'] } : {}),
    };
  });
  io.result(images);
  return 0;
}
