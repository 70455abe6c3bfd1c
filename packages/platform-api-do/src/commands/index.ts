import { defineCommand } from '@mantle/cluster';
import { doOptions } from '../options.js';
import { createImageOptions, nameOnlyOptions, noOptions } from './schemas.js';

/** `ore do <verb>`: declarations only (zod); each verb imports its implementation when it runs. */
export const doCommands = [
  defineCommand(doOptions, {
    name: 'create-image',
    description:
      'make an image from --url or a local --file (staged in Spaces): custom image API, or --method snapshot; --region repeated transfers it',
    options: createImageOptions,
    async run(input) {
      const { runCreateImage } = await import('./create-image-run.js');
      return runCreateImage(input);
    },
  }),
  defineCommand(doOptions, {
    name: 'delete-image',
    description: 'delete the image (custom or snapshot) of exactly this name',
    options: nameOnlyOptions,
    async run(input) {
      const { runDeleteImage } = await import('./images-run.js');
      return runDeleteImage(input);
    },
  }),
  defineCommand(doOptions, {
    name: 'list-images',
    description: 'list the account’s custom images and snapshots (ore marks the ones ore made)',
    options: noOptions,
    async run(input) {
      const { runListImages } = await import('./images-run.js');
      return runListImages(input);
    },
  }),
  defineCommand(doOptions, {
    name: 'list-keys',
    description: 'list the account’s SSH key names',
    options: noOptions,
    async run(input) {
      const { runListKeys } = await import('./keys-run.js');
      return runListKeys(input);
    },
  }),
  defineCommand(doOptions, {
    name: 'delete-keys',
    description: 'delete SSH keys by name (exit 1 if a name has no key, as mantle)',
    arguments: [{ name: 'name', description: 'key names', required: true, variadic: true }],
    options: noOptions,
    async run(input) {
      const { runDeleteKeys } = await import('./keys-run.js');
      return runDeleteKeys(input);
    },
  }),
];
