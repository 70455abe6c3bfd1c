import type { protos } from '@google-cloud/compute';
import type { GceClients } from './clients.js';
import { isNotFound } from './errors.js';
import { googleJson, googlePages, unlessNotFound } from './http.js';
import type { ApiOptions } from './instances.js';
import { type Operation, waitOperation } from './operations.js';

// Images and their (global) operations go through Compute's REST API with fetch, not the SDK: the
// JSON is the same, and `ore gcloud upload` then never loads @google-cloud/compute, whose protos
// cost more CPU than the upload itself (docs/performance.md).

export type Image = protos.google.cloud.compute.v1.IImage;

const imagesUrl = (clients: GceClients, project: string) =>
  `${clients.computeUrl}/projects/${encodeURIComponent(project)}/global/images`;

export async function getImage(
  clients: GceClients,
  project: string,
  name: string,
  options: ApiOptions,
): Promise<Image | undefined> {
  const answer = await unlessNotFound(
    googleJson<Image>(
      clients.auth,
      'images.get',
      `${imagesUrl(clients, project)}/${encodeURIComponent(name)}`,
      {},
      options,
    ),
  );
  return answer?.body;
}

/** The newest image of a family that is not deprecated (`images.getFromFamily`). */
export async function getImageFromFamily(
  clients: GceClients,
  project: string,
  family: string,
  options: ApiOptions,
): Promise<Image | undefined> {
  const answer = await unlessNotFound(
    googleJson<Image>(
      clients.auth,
      'images.getFromFamily',
      `${imagesUrl(clients, project)}/family/${encodeURIComponent(family)}`,
      {},
      options,
    ),
  );
  return answer?.body;
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
  const { body: op } = await googleJson<Operation>(
    clients.auth,
    'images.insert',
    imagesUrl(clients, clients.project),
    {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        name: image.name,
        rawDisk: { source: image.sourceUri },
        guestOsFeatures: [{ type: 'VIRTIO_SCSI_MULTIQUEUE' }],
        labels: image.labels,
        ...(image.family ? { family: image.family } : {}),
        ...(image.description ? { description: image.description } : {}),
        ...(image.licenses?.length ? { licenses: image.licenses } : {}),
      }),
    },
    options,
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
  try {
    const { body: op } = await googleJson<Operation>(
      clients.auth,
      'images.delete',
      `${imagesUrl(clients, clients.project)}/${encodeURIComponent(name)}`,
      { method: 'DELETE' },
      options,
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
  yield* googlePages<Image>(
    clients.auth,
    'images.list',
    imagesUrl(clients, clients.project),
    { maxResults: String(options.pageSize ?? 500), ...(options.filter ? { filter: options.filter } : {}) },
    options,
  );
}
