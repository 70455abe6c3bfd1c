import { defineCommand } from '@mantle/cluster';
import { awsOptions } from '../options.js';
import { copyImageOptions, deleteOptions, initializeOptions, listOptions, uploadOptions } from './schemas.js';

/** `ore aws <verb>`: declarations only (zod); each verb imports its implementation when it runs. */
export const awsCommands = [
  defineCommand(awsOptions, {
    name: 'initialize',
    description: 'create the S3 staging bucket and the vmimport role ImportSnapshot needs (idempotent)',
    options: initializeOptions,
    async run(input) {
      const { runInitialize } = await import('./initialize-run.js');
      return runInitialize(input);
    },
  }),
  defineCommand(awsOptions, {
    name: 'upload',
    description: 'upload a raw or VMDK image and register it as an AMI (reuses what a previous run made)',
    options: uploadOptions,
    async run(input) {
      const { runUpload } = await import('./upload-run.js');
      return runUpload(input);
    },
  }),
  defineCommand(awsOptions, {
    name: 'copy-image',
    description: 'copy an AMI with its tags and launch permissions into other regions',
    arguments: [{ name: 'region', description: 'destination regions', required: true, variadic: true }],
    options: copyImageOptions,
    async run(input) {
      const { runCopyImage } = await import('./copy-image-run.js');
      return runCopyImage(input);
    },
  }),
  defineCommand(awsOptions, {
    name: 'list',
    description: 'list the AMIs and snapshots ore made (tag CreatedBy=mantle) in the region',
    options: listOptions,
    async run(input) {
      const { runList } = await import('./list-run.js');
      return runList(input);
    },
  }),
  defineCommand(awsOptions, {
    name: 'delete',
    description: 'deregister AMIs (id or name) ore made and delete their snapshots; refuses anything else',
    arguments: [{ name: 'image', description: 'AMI ids or names', required: true, variadic: true }],
    options: deleteOptions,
    async run(input) {
      const { runDelete } = await import('./delete-run.js');
      return runDelete(input);
    },
  }),
];
