import { type CommandInput, expiryOptions, type PlatformOptionsSchema } from '@mantle/cluster';
import { z } from 'zod';
import type { awsOptions } from '../options.js';

/** Flags of each `ore aws` verb (zod only, so listing verbs loads no SDK). */
export const initializeOptions = z.object({
  bucket: z
    .string()
    .optional()
    .describe('S3 bucket for image uploads (default kola-images-<account>-<region>)')
    .meta({ valueName: 'NAME' }),
});

export const uploadOptions = z.object({
  file: z
    .string()
    .optional()
    .describe('local raw or VMDK disk image (not needed with --source-object or --source-snapshot)')
    .meta({ valueName: 'FILE' }),
  name: z
    .string()
    .regex(/^[\w.()/@-]{3,128}$/, 'must be 3-128 letters, digits or ._-()/@')
    .describe('image name: the Name tag of the snapshot and AMI, and the key that makes re-runs reuse them')
    .meta({ valueName: 'NAME' }),
  method: z
    .enum(['ebs', 's3'])
    .optional()
    .describe(
      'ebs: EBS direct APIs, only non-zero blocks (default for raw); s3: S3 + ImportSnapshot (default for VMDK)',
    ),
  objectFormat: z
    .enum(['vmdk', 'raw'])
    .optional()
    .describe(
      'format of the object S3 imports (--method s3). vmdk (default): a raw --file goes as a stream-optimized VMDK made on the way, without its zero grains and deflated; raw: as it is. With --source-object: what the object is (default: by its name)',
    ),
  bucket: z
    .string()
    .optional()
    .describe('S3 staging location for --method s3 (default s3://kola-images-<account>-<region>/<name>)')
    .meta({ valueName: 'S3URL' }),
  amiName: z
    .string()
    .regex(/^[\w.()/@ -]{3,128}$/, 'must be 3-128 letters, digits, spaces or ._-()/@')
    .optional()
    .describe('AMI name (default: --name)')
    .meta({ valueName: 'NAME' }),
  amiDescription: z.string().optional().describe('AMI description').meta({ valueName: 'TEXT' }),
  diskSizeGib: z
    .number()
    .int()
    .positive()
    .max(65536)
    .optional()
    .describe('root volume size (default: the image size rounded up to GiB, at least 8)')
    .meta({ valueName: 'GIB' }),
  volumeType: z.enum(['gp3', 'gp2']).default('gp3').describe('root volume type of the AMI'),
  grantUser: z
    .array(z.string().regex(/^\d{12}$/, 'must be a 12-digit AWS account id'))
    .default([])
    .describe('account id allowed to launch the AMI (repeatable)')
    .meta({ valueName: 'ACCOUNT' }),
  tags: z
    .string()
    .optional()
    .describe('extra tags for the snapshot and AMI: k=v,k2=v2')
    .meta({ valueName: 'TAGS' }),
  ...expiryOptions,
  force: z
    .boolean()
    .default(false)
    .describe('remove an existing AMI, snapshot and S3 object of this name (made by ore) and upload again'),
  deleteObject: z.boolean().default(true).describe('delete the S3 object after the import (--method s3)'),
  sourceObject: z
    .string()
    .optional()
    .describe('import this existing s3://bucket/key instead of uploading --file')
    .meta({ valueName: 'S3URL' }),
  sourceSnapshot: z
    .string()
    .regex(/^snap-[0-9a-f]+$/, 'must be a snapshot id (snap-…)')
    .optional()
    .describe('register this existing snapshot instead of uploading')
    .meta({ valueName: 'ID' }),
  parallel: z
    .number()
    .int()
    .min(1)
    .max(64)
    .optional()
    .describe('requests in flight at once (default 16 blocks for ebs, 10 parts for s3)')
    .meta({ valueName: 'N' }),
  pollInterval: z
    .string()
    .default('10s')
    .describe('how often to ask whether an import or snapshot is done')
    .meta({ valueName: 'DURATION' }),
  importTimeout: z
    .string()
    .default('2h')
    .describe('how long to wait for ImportSnapshot and the snapshot to complete')
    .meta({ valueName: 'DURATION' }),
});

export const copyImageOptions = z.object({
  image: z.string().describe('source AMI (id or name) in --aws-region').meta({ valueName: 'AMI' }),
  pollInterval: z
    .string()
    .default('15s')
    .describe('how often to ask whether a copy is available')
    .meta({ valueName: 'DURATION' }),
  copyTimeout: z
    .string()
    .default('2h')
    .describe('how long to wait for each copy to become available')
    .meta({ valueName: 'DURATION' }),
});

export const listOptions = z.object({});

export const deleteOptions = z.object({
  dryRun: z.boolean().default(false).describe('print what would be deleted and delete nothing'),
});

/** What an `ore aws` verb's implementation receives: its own options and the platform's, typed. */
export type AwsVerbInput<VS extends PlatformOptionsSchema> = CommandInput<typeof awsOptions, VS>;
