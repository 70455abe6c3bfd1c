import { errorMessage, UsageError } from '@mantle/cluster';
import { deleteImage, getImage, projectImages } from '../api/images.js';
import { getObject, objectSourceUri, parseGsUrl } from '../api/storage.js';
import { ownerLabel } from '../labels.js';
import { clearImageName, imagePlan, imageSummary, makeImage, withClients } from './common.js';
import type { createImageOptions, deleteImagesOptions, GceVerbInput, listImagesOptions } from './schemas.js';

/** `ore gcloud create-image`: an image from a tarball already in Cloud Storage. */
export async function runCreateImage({
  options,
  platformOptions,
  log,
  signal,
  io,
}: GceVerbInput<typeof createImageOptions>) {
  const plan = imagePlan(options);
  const source = parseGsUrl(options.source);
  if (!source?.prefix)
    throw new UsageError(`--source ${JSON.stringify(options.source)}: not gs://bucket/object`);
  return withClients({ platformOptions, log }, async (clients) => {
    const ctx = { signal, log };
    if (!(await getObject(clients, source.bucket, source.prefix, ctx)))
      throw new UsageError(`--source ${options.source}: no such object`);
    await clearImageName(clients, options.name, options.force, ctx);
    const image = await makeImage(
      clients,
      { name: options.name, sourceUri: objectSourceUri(source.bucket, source.prefix), flags: options, plan },
      ctx,
    );
    io.result({ image: imageSummary(image) }, image.selfLink ?? image.name ?? '');
    return 0;
  });
}

/** `ore gcloud list-images [--prefix P]`: the project's images, every page. */
export async function runListImages({
  options,
  platformOptions,
  log,
  signal,
  io,
}: GceVerbInput<typeof listImagesOptions>) {
  return withClients({ platformOptions, log }, async (clients) => {
    const images = [];
    for await (const image of projectImages(clients, { signal, log }))
      if ((image.name ?? '').startsWith(options.prefix)) images.push(imageSummary(image));
    images.sort((a, b) => String(a.name).localeCompare(String(b.name)));
    io.result(
      images,
      images
        .map(
          (i) =>
            `${i.name}\t${i.family ?? '-'}\t${i.status}\t${i.created}${(i.labels as Record<string, string>)[ownerLabel.key] === ownerLabel.value ? '\tore' : ''}`,
        )
        .join('\n'),
    );
    return 0;
  });
}

/**
 * `ore gcloud delete-images <name…>`: deletes each and waits. Images ore did not make (no
 * created-by=mantle label) are refused without --force; a name that is not there fails (exit 1),
 * the others are still deleted.
 */
export async function runDeleteImages({
  options,
  platformOptions,
  args,
  log,
  signal,
  io,
}: GceVerbInput<typeof deleteImagesOptions>) {
  return withClients({ platformOptions, log }, async (clients) => {
    const results: Array<{
      name: string;
      result: 'deleted' | 'not found' | 'refused' | 'failed';
      error?: string;
    }> = [];
    for (const name of args) {
      try {
        const image = await getImage(clients, clients.project, name, { signal, log });
        if (!image) {
          results.push({ name, result: 'not found' });
          continue;
        }
        if (image.labels?.[ownerLabel.key] !== ownerLabel.value && !options.force) {
          results.push({
            name,
            result: 'refused',
            error: 'not made by ore (no created-by=mantle label); --force deletes it',
          });
          continue;
        }
        await deleteImage(clients, name, { signal, log });
        results.push({ name, result: 'deleted' });
      } catch (e) {
        if (signal.aborted) throw e;
        results.push({ name, result: 'failed', error: errorMessage(e) });
      }
    }
    io.result(
      results,
      results.map((r) => `${r.result}\t${r.name}${r.error ? `\t${r.error}` : ''}`).join('\n'),
    );
    return results.every((r) => r.result === 'deleted') ? 0 : 1;
  });
}
