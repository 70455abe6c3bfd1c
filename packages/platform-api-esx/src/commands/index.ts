import { defineCommand } from '@mantle/cluster';
import { esxOptions } from '../options.js';
import { createBaseOptions, nameOnlyOptions, noOptions } from './schemas.js';

/** `ore esx <verb>`: declarations only (zod); each verb imports its implementation when it runs. */
export const esxCommands = [
  defineCommand(esxOptions, {
    name: 'create-base',
    description: 'import an OVA (or a raw disk, sent as a stream-optimized VMDK) as a base VM to clone',
    options: createBaseOptions,
    async run(input) {
      const { runCreateBase } = await import('./create-base-run.js');
      return runCreateBase(input);
    },
  }),
  defineCommand(esxOptions, {
    name: 'remove-base',
    description: 'power off and destroy the base VM of this name',
    options: nameOnlyOptions,
    async run(input) {
      const { runRemoveBase } = await import('./vms-run.js');
      return runRemoveBase(input);
    },
  }),
  defineCommand(esxOptions, {
    name: 'list',
    description: 'list the VMs: name, power state, and who made them (kola run, ore base, or not us)',
    options: noOptions,
    async run(input) {
      const { runList } = await import('./vms-run.js');
      return runList(input);
    },
  }),
];
