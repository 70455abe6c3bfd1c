import type { CommandInput, PlatformOptionsSchema } from '@mantle/cluster';
import { z } from 'zod';
import type { gceOptions } from '../options.js';

/** Flags of each `ore gcloud` verb (zod only, so listing verbs loads no SDK). */

const imageFields = {
  family: z
    .string()
    .regex(/^[a-z]([-a-z0-9]*[a-z0-9])?$/, 'must be lowercase letters, digits and dashes')
    .optional()
    .describe('image family')
    .meta({ valueName: 'FAMILY' }),
  description: z.string().optional().describe('image description').meta({ valueName: 'TEXT' }),
  license: z
    .array(z.string())
    .default([])
    .describe('license URL or projects/<p>/global/licenses/<l> to attach (repeatable)')
    .meta({ valueName: 'LICENSE' }),
  expiresIn: z
    .string()
    .optional()
    .describe(
      'label expires-at = now + this (e.g. 7d): gc removes the image (and the upload object) after it',
    )
    .meta({ valueName: 'DURATION' }),
  expiresAt: z
    .string()
    .optional()
    .describe('label expires-at = this RFC 3339 date')
    .meta({ valueName: 'DATE' }),
  imageTimeout: z
    .string()
    .default('30m')
    .describe('how long images.insert may take')
    .meta({ valueName: 'DURATION' }),
};

export const uploadOptions = z.object({
  file: z
    .string()
    .describe(
      'a raw disk image (streamed as the sparse tar.gz GCE imports) or a ready .tar.gz holding disk.raw',
    )
    .meta({ valueName: 'FILE' }),
  name: z
    .string()
    .regex(/^[\w.+@-]{1,200}$/, 'must be letters, digits or ._+@-')
    .describe('upload name: the object is <bucket prefix>/<name>.tar.gz, the image sanitized <name>')
    .meta({ valueName: 'NAME' }),
  bucket: z
    .string()
    .optional()
    .describe(
      'gs://bucket[/prefix] to upload to (default gs://<project>-kola-images; made, labelled created-by=mantle, when missing)',
    )
    .meta({ valueName: 'GSURL' }),
  imageName: z
    .string()
    .regex(/^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/, 'must be a GCE name: lowercase letters, digits and dashes')
    .optional()
    .describe('image name (default: --name made a GCE name as mantle does: ., +, / → -, v prefix)')
    .meta({ valueName: 'NAME' }),
  ...imageFields,
  force: z
    .boolean()
    .default(false)
    .describe('replace an existing object and image of that name (mantle asked on stdin)'),
  deleteObject: z
    .boolean()
    .default(false)
    .describe('delete the uploaded object once the image is made (mantle kept it)'),
  gzipLevel: z
    .number()
    .int()
    .min(1)
    .max(9)
    .default(6)
    .describe('gzip level of a raw disk (gzip’s default 6)')
    .meta({ valueName: 'N' }),
  chunkMib: z
    .number()
    .int()
    .min(1)
    .max(1024)
    .default(16)
    .describe('MiB per upload request (a resumed upload resends at most one)')
    .meta({ valueName: 'MIB' }),
  parallel: z
    .number()
    .int()
    .min(1)
    .max(64)
    .optional()
    .describe('threads compressing a raw disk (default: the CPUs)')
    .meta({ valueName: 'N' }),
});

export const createImageOptions = z.object({
  source: z
    .string()
    .describe('gs://bucket/object.tar.gz holding disk.raw (what ore gcloud upload made)')
    .meta({ valueName: 'GSURL' }),
  name: z
    .string()
    .regex(/^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/, 'must be a GCE name: lowercase letters, digits and dashes')
    .describe('image name')
    .meta({ valueName: 'NAME' }),
  ...imageFields,
  force: z.boolean().default(false).describe('delete an existing image of that name first'),
});

export const listImagesOptions = z.object({
  prefix: z
    .string()
    .default('')
    .describe('only images whose name starts with this')
    .meta({ valueName: 'PREFIX' }),
});

export const deleteImagesOptions = z.object({
  force: z
    .boolean()
    .default(false)
    .describe('also delete images ore did not make (no created-by=mantle label)'),
});

export const listInstancesOptions = z.object({
  allZones: z.boolean().default(false).describe('every zone of the project, not only --gce-zone'),
});

export const destroyInstancesOptions = z.object({
  apply: z.boolean().default(false).describe('delete; without it only prints what it would delete and why'),
  olderThan: z
    .string()
    .default('5h')
    .describe('only instances older than this')
    .meta({ valueName: 'DURATION' }),
  allZones: z.boolean().default(false).describe('every zone of the project, not only --gce-zone'),
});

/** What an `ore gcloud` verb's implementation receives: its own options and the platform's, typed. */
export type GceVerbInput<VS extends PlatformOptionsSchema> = CommandInput<typeof gceOptions, VS>;
