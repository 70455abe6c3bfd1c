import type { CommandInput } from '@mantle/cluster';
import { z } from 'zod';
import type { esxOptions } from '../options.js';

const nameOption = z.string().min(1).describe('name of the base VM').meta({ valueName: 'NAME' });

export const createBaseOptions = z.object({
  file: z
    .string()
    .min(1)
    .describe('the .ova, or a raw disk image (.raw/.img/.bin)')
    .meta({ valueName: 'FILE' }),
  name: nameOption,
});
export const nameOnlyOptions = z.object({ name: nameOption });
export const noOptions = z.object({});

export type EsxVerbInput<V extends z.ZodObject> = CommandInput<typeof esxOptions, V>;
