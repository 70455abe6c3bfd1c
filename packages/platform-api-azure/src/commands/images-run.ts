import { ConfigError, expiryFrom } from '@mantle/cluster';
import { openAzureSession } from '../api/session.js';
import { ownerTag, resourceTags } from '../tags.js';
import type { AzureVerbInput, createImageOptions, imageNameOptions, noOptions } from './schemas.js';

/** `ore azure create-image`: a managed image from the blob, tagged, in --azure-location. */
export async function runCreateImage(input: AzureVerbInput<typeof createImageOptions>): Promise<number> {
  const { options: o, platformOptions, signal, io, log } = input;
  const expiresAt = expiryFrom(o);
  const session = await openAzureSession(platformOptions, log);
  await session.resources.resourceGroups
    .get(o.resourceGroup, { abortSignal: signal })
    .catch((e: { statusCode?: number }) => {
      if (e.statusCode === 404)
        throw new ConfigError(`--resource-group ${o.resourceGroup}: no such resource group`);
      throw e;
    });
  const image = await session.compute.images.beginCreateOrUpdateAndWait(
    o.resourceGroup,
    o.imageName,
    {
      location: platformOptions.location,
      tags: resourceTags(expiresAt ? { 'expires-at': expiresAt } : {}),
      hyperVGeneration: o.hyperVGeneration,
      storageProfile: { osDisk: { osType: 'Linux', osState: 'Generalized', blobUri: o.imageBlob } },
    },
    { abortSignal: signal, updateIntervalInMs: session.pollMs },
  );
  const result = { ID: image.id, Location: image.location };
  io.result(result, `${JSON.stringify(result)}\n`);
  return 0;
}

/** `ore azure delete-image`: deletes it and waits; an image that is not there is an error. */
export async function runDeleteImage(input: AzureVerbInput<typeof imageNameOptions>): Promise<number> {
  const { options: o, platformOptions, signal, io, log } = input;
  const session = await openAzureSession(platformOptions, log);
  const image = await session.compute.images
    .get(o.resourceGroup, o.imageName, { abortSignal: signal })
    .catch((e: { statusCode?: number }) => {
      if (e.statusCode === 404)
        throw new ConfigError(
          `--image-name ${o.imageName}: no image of that name in resource group ${o.resourceGroup}`,
        );
      throw e;
    });
  await session.compute.images.beginDeleteAndWait(o.resourceGroup, o.imageName, {
    abortSignal: signal,
    updateIntervalInMs: session.pollMs,
  });
  io.result({ deleted: image.id }, `deleted image ${image.id}\n`);
  return 0;
}

/** `ore azure list-images`: every managed image of the subscription, every page. */
export async function runListImages(input: AzureVerbInput<typeof noOptions>): Promise<number> {
  const { platformOptions, signal, io, log } = input;
  const session = await openAzureSession(platformOptions, log);
  const images: Record<string, unknown>[] = [];
  for await (const i of session.compute.images.list({ abortSignal: signal }))
    images.push({
      id: i.id,
      name: i.name,
      location: i.location,
      state: i.provisioningState ?? '',
      ore: i.tags?.[ownerTag.key] === ownerTag.value,
      ...(i.tags?.createdAt ? { createdAt: i.tags.createdAt } : {}),
      ...(i.tags?.['expires-at'] ? { expiresAt: i.tags['expires-at'] } : {}),
    });
  io.result(images);
  return 0;
}
