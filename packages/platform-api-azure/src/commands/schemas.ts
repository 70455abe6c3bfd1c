import { type CommandInput, expiryOptions, type PlatformOptionsSchema } from '@mantle/cluster';
import { z } from 'zod';
import type { azureOptions } from '../options.js';

const resourceGroup = z
  .string()
  .regex(/^[-\w.()]{1,90}$/, 'must be a resource group name (1-90 letters, digits, - _ . ( ))')
  .default('kola')
  .describe('resource group of the storage account and images')
  .meta({ valueName: 'NAME' });

/** Flags of each `ore azure` verb (zod only, so listing verbs loads nothing else). */
export const uploadBlobOptions = z.object({
  file: z
    .string()
    .min(1)
    .describe('a raw disk (made a fixed VHD on the fly) or a fixed VHD')
    .meta({ valueName: 'FILE' }),
  storageAccount: z
    .string()
    .regex(/^[a-z0-9]{3,24}$/, 'must be a storage account name (3-24 lowercase letters and digits)')
    .default('kola')
    .describe('storage account (its first key is read through Resource Manager)')
    .meta({ valueName: 'NAME' }),
  container: z
    .string()
    .regex(
      /^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}$/,
      'must be a container name (3-63 lowercase letters, digits, -)',
    )
    .default('vhds')
    .describe('blob container (made when missing)')
    .meta({ valueName: 'NAME' }),
  blobName: z
    .string()
    .min(1)
    .optional()
    .describe('blob name (default: the file’s name, ending .vhd)')
    .meta({ valueName: 'NAME' }),
  resourceGroup,
  overwrite: z.boolean().default(false).describe('replace a blob of another size instead of refusing'),
  validate: z
    .boolean()
    .default(true)
    .describe('check a VHD’s footer (checksum, fixed type, whole MiB) before sending'),
  concurrency: z
    .number()
    .int()
    .min(1)
    .max(64)
    .default(8)
    .describe('page writes in flight')
    .meta({ valueName: 'N' }),
  ...expiryOptions,
});

export const createImageOptions = z.object({
  imageName: z
    .string()
    .regex(/^[\w][-\w.]{0,78}[\w]$/, 'must be an image name (2-80 letters, digits, - _ .)')
    .describe('image name')
    .meta({ valueName: 'NAME' }),
  imageBlob: z
    .url()
    .describe('URL of the VHD page blob (what upload-blob printed)')
    .meta({ valueName: 'URL' }),
  resourceGroup,
  hyperVGeneration: z.enum(['V1', 'V2']).default('V1').describe('Hyper-V generation of the image'),
  ...expiryOptions,
});

export const imageNameOptions = z.object({
  imageName: z.string().min(1).describe('image name').meta({ valueName: 'NAME' }),
  resourceGroup,
});

export const noOptions = z.object({});

export type AzureVerbInput<VS extends PlatformOptionsSchema> = CommandInput<typeof azureOptions, VS>;
