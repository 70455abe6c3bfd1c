import { defineCommand } from '@mantle/cluster';
import { gceOptions } from '../options.js';
import {
  createImageOptions,
  deleteImagesOptions,
  destroyInstancesOptions,
  listImagesOptions,
  listInstancesOptions,
  uploadOptions,
} from './schemas.js';

/** `ore gcloud <verb>`: declarations only (zod); each verb imports its implementation when it runs. */
export const gceCommands = [
  defineCommand(gceOptions, {
    name: 'upload',
    description:
      'upload a raw disk (streamed as GCE’s sparse tar.gz) or a ready tar.gz to Cloud Storage and make an image (resumes an interrupted upload)',
    options: uploadOptions,
    async run(input) {
      const { runUpload } = await import('./upload-run.js');
      return runUpload(input);
    },
  }),
  defineCommand(gceOptions, {
    name: 'create-image',
    description: 'make an image from a tar.gz already in Cloud Storage',
    options: createImageOptions,
    async run(input) {
      const { runCreateImage } = await import('./images-run.js');
      return runCreateImage(input);
    },
  }),
  defineCommand(gceOptions, {
    name: 'list-images',
    description: 'list the project’s images',
    options: listImagesOptions,
    async run(input) {
      const { runListImages } = await import('./images-run.js');
      return runListImages(input);
    },
  }),
  defineCommand(gceOptions, {
    name: 'delete-images',
    description: 'delete images ore made (by name); --force for others',
    arguments: [{ name: 'name', description: 'image names', required: true, variadic: true }],
    options: deleteImagesOptions,
    async run(input) {
      const { runDeleteImages } = await import('./images-run.js');
      return runDeleteImages(input);
    },
  }),
  defineCommand(gceOptions, {
    name: 'list-instances',
    description: 'list the instances named <basename>-… (name, external IP, status, zone)',
    options: listInstancesOptions,
    async run(input) {
      const { runListInstances } = await import('./instances-run.js');
      return runListInstances(input);
    },
  }),
  defineCommand(gceOptions, {
    name: 'destroy-instances',
    description:
      'delete the <basename>-… instances ore made that are older than --older-than (plan unless --apply)',
    options: destroyInstancesOptions,
    async run(input) {
      const { runDestroyInstances } = await import('./instances-run.js');
      return runDestroyInstances(input);
    },
  }),
];
