import { defineCommand } from '@mantle/cluster';
import { packetOptions } from '../options.js';
import { createDeviceOptions, noOptions } from './schemas.js';

/** `ore packet <verb>`: declarations only (zod); each verb imports its implementation when it runs. */
export const packetCommands = [
  defineCommand(packetOptions, {
    name: 'create-device',
    description:
      'create a device through the iPXE install (as kola does) and print {"id","hostname","public-ip"}; tagged mantle',
    options: createDeviceOptions,
    async run(input) {
      const { runCreateDevice } = await import('./create-device-run.js');
      return runCreateDevice(input);
    },
  }),
  defineCommand(packetOptions, {
    name: 'list-keys',
    description: 'list the project’s SSH key labels',
    options: noOptions,
    async run(input) {
      const { runListKeys } = await import('./keys-run.js');
      return runListKeys(input);
    },
  }),
  defineCommand(packetOptions, {
    name: 'delete-keys',
    description: 'delete project SSH keys by label (exit 1 if a label has no key)',
    arguments: [{ name: 'label', description: 'key labels', required: true, variadic: true }],
    options: noOptions,
    async run(input) {
      const { runDeleteKeys } = await import('./keys-run.js');
      return runDeleteKeys(input);
    },
  }),
];
