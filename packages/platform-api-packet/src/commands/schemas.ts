import type { CommandInput, PlatformOptionsSchema } from '@mantle/cluster';
import { z } from 'zod';
import type { packetOptions } from '../options.js';

/** Flags of each `ore packet` verb (zod only, so listing verbs loads nothing else). */
export const createDeviceOptions = z.object({
  hostname: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$/, 'must be a hostname')
    .optional()
    .describe('hostname of the device (default: ore-<10 hex>)')
    .meta({ valueName: 'NAME' }),
  userdataFile: z
    .string()
    .optional()
    .describe('userdata (Ignition JSON or cloud-config) the installed system boots with')
    .meta({ valueName: 'FILE' }),
  installTimeout: z
    .string()
    .default('15m')
    .describe('how long the install may take once the device is active')
    .meta({ valueName: 'DURATION' }),
});

export const noOptions = z.object({});

export type PacketVerbInput<VS extends PlatformOptionsSchema> = CommandInput<typeof packetOptions, VS>;
