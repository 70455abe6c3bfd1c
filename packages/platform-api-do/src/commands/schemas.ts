import { type CommandInput, expiryOptions, type PlatformOptionsSchema } from '@mantle/cluster';
import { z } from 'zod';
import type { doOptions } from '../options.js';

/** Flags of each `ore do` verb (zod only, so listing verbs loads nothing else). */
export const createImageOptions = z.object({
  name: z
    .string()
    .min(1)
    .max(255)
    .describe('image name (custom image, or the snapshot’s name with --method snapshot)')
    .meta({ valueName: 'NAME' }),
  file: z
    .string()
    .optional()
    .describe('local image (raw, qcow2, vmdk, vhdx, vdi; .gz or .bz2): staged in --do-spaces-bucket')
    .meta({ valueName: 'FILE' }),
  url: z
    .url()
    .optional()
    .describe('http(s) URL DigitalOcean (or the helper droplet) fetches the image from')
    .meta({ valueName: 'URL' }),
  region: z
    .array(z.string().regex(/^[a-z]{3}\d$/, 'must be a region slug like sfo2'))
    .default([])
    .describe('region to make the image in, then transfer it to (repeatable; default --do-region)')
    .meta({ valueName: 'SLUG' }),
  method: z
    .enum(['custom', 'snapshot'])
    .default('custom')
    .describe(
      'custom: DigitalOcean’s custom image API; snapshot: mantle’s helper droplet that writes the image over its disk, then a snapshot',
    ),
  distribution: z
    .string()
    .optional()
    .describe('distribution label of a custom image (DigitalOcean’s list, e.g. CoreOS, Unknown)')
    .meta({ valueName: 'NAME' }),
  ...expiryOptions,
  busyboxUrl: z
    .url()
    .optional()
    .describe('--method snapshot: a static busybox for helper images without one (with --busybox-sha256)')
    .meta({ valueName: 'URL' }),
  busyboxSha256: z
    .string()
    .optional()
    .describe('sha256 of --busybox-url, checked by Ignition')
    .meta({ valueName: 'HEX' }),
  pollInterval: z
    .string()
    .default('10s')
    .describe('how often to ask whether the image, the snapshot or a transfer is done')
    .meta({ valueName: 'DURATION' }),
  timeout: z
    .string()
    .default('1h')
    .describe(
      'how long to wait for the image (custom) or the snapshot to be available, and for each transfer',
    )
    .meta({ valueName: 'DURATION' }),
  installTimeout: z
    .string()
    .default('15m')
    .describe('--method snapshot: how long the helper droplet may take to write the image and power off')
    .meta({ valueName: 'DURATION' }),
});

export const nameOnlyOptions = z.object({
  name: z.string().min(1).describe('exact image name').meta({ valueName: 'NAME' }),
});

export const noOptions = z.object({});

/** What an `ore do` verb's implementation receives: its own options and the platform's, typed. */
export type DoVerbInput<VS extends PlatformOptionsSchema> = CommandInput<typeof doOptions, VS>;
