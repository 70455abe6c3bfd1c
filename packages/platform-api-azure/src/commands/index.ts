import { defineCommand } from '@mantle/cluster';
import { azureOptions } from '../options.js';
import { createImageOptions, imageNameOptions, noOptions, uploadBlobOptions } from './schemas.js';

const uploadBlob = (name: string, description: string) =>
  defineCommand(azureOptions, {
    name,
    description,
    options: uploadBlobOptions,
    async run(input) {
      const { runUploadBlob } = await import('./upload-run.js');
      return runUploadBlob(input);
    },
  });

const createImage = (name: string, description: string) =>
  defineCommand(azureOptions, {
    name,
    description,
    options: createImageOptions,
    async run(input) {
      const { runCreateImage } = await import('./images-run.js');
      return runCreateImage(input);
    },
  });

/** `ore azure <verb>`: declarations only (zod); each verb imports its implementation when it runs. */
export const azureCommands = [
  uploadBlob(
    'upload-blob',
    'upload a raw disk (a fixed VHD made on the fly) or a fixed VHD to a page blob: non-zero pages only, MD5-checked, resumable; prints {"URL"}',
  ),
  // mantle's ARM spellings; its classic (ASM) verbs are not carried over: the service was retired
  uploadBlob('upload-blob-arm', 'alias of upload-blob'),
  createImage(
    'create-image',
    'make a managed image from a VHD blob (tagged createdBy=mantle); prints {"ID","Location"}',
  ),
  createImage('create-image-arm', 'alias of create-image'),
  defineCommand(azureOptions, {
    name: 'delete-image',
    description: 'delete a managed image and wait until it is gone',
    options: imageNameOptions,
    async run(input) {
      const { runDeleteImage } = await import('./images-run.js');
      return runDeleteImage(input);
    },
  }),
  defineCommand(azureOptions, {
    name: 'list-images',
    description: 'list the subscription’s managed images (ore marks the ones ore made)',
    options: noOptions,
    async run(input) {
      const { runListImages } = await import('./images-run.js');
      return runListImages(input);
    },
  }),
];
