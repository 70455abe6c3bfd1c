import type { protos } from '@google-cloud/compute';
import type { GceClients } from './clients.js';
import { isNotFound } from './errors.js';
import { gceCall, sdkPages, unlessNotFound } from './http.js';
import type { ApiOptions } from './instances.js';
import { operationOf, waitOperation } from './operations.js';

export type Image = protos.google.cloud.compute.v1.IImage;

export async function getImage(
  clients: GceClients,
  project: string,
  name: string,
  options: ApiOptions,
): Promise<Image | undefined> {
  const images = await clients.images();
  const answer = await unlessNotFound(
    gceCall('images.get', options, () => images.get({ project, image: name })),
  );
  return answer?.[0];
}

/** The newest image of a family that is not deprecated (`images.getFromFamily`). */
export async function getImageFromFamily(
  clients: GceClients,
  project: string,
  family: string,
  options: ApiOptions,
): Promise<Image | undefined> {
  const images = await clients.images();
  const answer = await unlessNotFound(
    gceCall('images.getFromFamily', options, () => images.getFromFamily({ project, family })),
  );
  return answer?.[0];
}

export interface NewImage {
  name: string;
  /** `https://storage.googleapis.com/<bucket>/<object>`: the tar.gz holding disk.raw. */
  sourceUri: string;
  family?: string;
  description?: string;
  licenses?: string[];
  labels: Record<string, string>;
}

/** mantle's CreateImage: `guestOsFeatures` VIRTIO_SCSI_MULTIQUEUE, optional licenses; waits for DONE. */
export async function insertImage(
  clients: GceClients,
  image: NewImage,
  options: ApiOptions & { timeoutMs: number },
): Promise<Image> {
  const images = await clients.images();
  const op = await gceCall('images.insert', options, async () =>
    operationOf(
      await images.insert({
        project: clients.project,
        imageResource: {
          name: image.name,
          rawDisk: { source: image.sourceUri },
          guestOsFeatures: [{ type: 'VIRTIO_SCSI_MULTIQUEUE' }],
          labels: image.labels,
          ...(image.family ? { family: image.family } : {}),
          ...(image.description ? { description: image.description } : {}),
          ...(image.licenses?.length ? { licenses: image.licenses } : {}),
        },
      }),
    ),
  );
  await waitOperation(clients, `creating image ${image.name}`, op, {}, options);
  const made = await getImage(clients, clients.project, image.name, options);
  if (!made) throw new Error(`image ${image.name} is not there after its creation finished`);
  return made;
}

/** Deletes an image and waits; already gone resolves. */
export async function deleteImage(
  clients: GceClients,
  name: string,
  options: ApiOptions & { timeoutMs?: number },
): Promise<void> {
  const images = await clients.images();
  try {
    const op = await gceCall('images.delete', options, async () =>
      operationOf(await images.delete({ project: clients.project, image: name })),
    );
    await waitOperation(
      clients,
      `deleting image ${name}`,
      op,
      {},
      {
        signal: options.signal,
        timeoutMs: options.timeoutMs ?? 10 * 60_000,
      },
    );
  } catch (e) {
    if (isNotFound(e)) return;
    throw e;
  }
}

/** Every image of the project, every page. */
export async function* projectImages(
  clients: GceClients,
  options: ApiOptions & { filter?: string; pageSize?: number },
): AsyncGenerator<Image> {
  const images = await clients.images();
  yield* sdkPages('images.list', options, (pageToken) =>
    images.list(
      {
        project: clients.project,
        maxResults: options.pageSize ?? 500,
        ...(options.filter ? { filter: options.filter } : {}),
        ...(pageToken ? { pageToken } : {}),
      },
      { autoPaginate: false },
    ),
  );
}
