import type { DocumentOptions, SchemaOptions, Tags } from 'yaml';
import { z } from 'zod';
import { UserDataError } from '../errors.js';
import { BASE64 } from './data-url.js';
import { describeValue, firstIssue, jsonPath } from './json-path.js';
import { yamlLib } from './yaml-lib.js';

// Parse as YAML 1.1 because cloud-init (PyYAML) does; keep timestamps as strings so they round-trip.
export const YAML_OPTIONS: DocumentOptions & SchemaOptions = {
  version: '1.1',
  customTags: (tags: Tags) =>
    tags.filter((t) => typeof t === 'string' || t.tag !== 'tag:yaml.org,2002:timestamp'),
};

const cloudWriteFileSchema = z.looseObject({
  path: z.string().refine((p) => p.startsWith('/'), 'path not absolute'),
  content: z.string().nullish(),
  encoding: z.string().nullish(),
  permissions: z
    .union([z.string(), z.int()], { error: 'permissions must be an octal string such as "0644"' })
    .nullish(),
  owner: z.string().nullish(),
});

const cloudConfigSchema = z.looseObject({
  ssh_authorized_keys: z.array(z.string()).nullish(),
  hostname: z.string().nullish(),
  write_files: z.array(cloudWriteFileSchema).nullish(),
  runcmd: z
    .array(
      z.union([z.string(), z.array(z.string())], {
        error: 'runcmd entries must be a string or a list of strings',
      }),
    )
    .nullish(),
  users: z.unknown().optional(),
});

/** A parsed cloud-config mapping; keys we do not model are kept untouched (cloud-init ignores them). */
export type CloudConfig = z.infer<typeof cloudConfigSchema>;

const CLOUD_ENCODINGS = ['b64', 'base64', 'text', 'text/plain'];

export function validateCloudConfigObject(obj: unknown): CloudConfig {
  const parsed = cloudConfigSchema.safeParse(obj, { reportInput: true });
  if (!parsed.success) throw firstIssue(parsed.error, 'cloud-config');
  parsed.data.write_files?.forEach((f, i) => {
    const at = (k: string) => jsonPath(['write_files', i, k]);
    const enc = f.encoding?.toLowerCase();
    if (enc?.startsWith('gz')) {
      throw new UserDataError(
        `gzip-encoded write_files (${f.encoding}) are not supported; use b64`,
        at('encoding'),
      );
    }
    if (enc && !CLOUD_ENCODINGS.includes(enc)) {
      throw new UserDataError(
        `unknown encoding ${JSON.stringify(f.encoding)} (use one of ${CLOUD_ENCODINGS.join(', ')})`,
        at('encoding'),
      );
    }
    if ((enc === 'b64' || enc === 'base64') && !BASE64.test((f.content ?? '').replace(/\s/g, ''))) {
      throw new UserDataError('content is not valid base64', at('content'));
    }
    const perm = f.permissions;
    const permOk =
      perm === undefined ||
      perm === null ||
      (typeof perm === 'string' ? /^0?[0-7]{3,4}$/.test(perm) : perm >= 0 && perm <= 0o7777);
    if (!permOk) {
      throw new UserDataError(
        `permissions ${JSON.stringify(perm)} is not an octal mode such as "0644"`,
        at('permissions'),
      );
    }
  });
  return parsed.data;
}

export function parseCloudConfig(text: string): CloudConfig {
  const doc = yamlLib().parseDocument(text, YAML_OPTIONS);
  const err = doc.errors[0];
  if (err)
    throw new UserDataError(
      `cloud-config is not valid YAML: ${err.message.split('\n')[0]?.replace(/:$/, '')}`,
    );
  const value: unknown = doc.toJS() ?? {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new UserDataError(`cloud-config must be a YAML mapping, got ${describeValue(value)}`);
  }
  return validateCloudConfigObject(value);
}

export function isCloudConfigText(text: string): boolean {
  // coreos-cloudinit's rule: the first line, trimmed, is the header.
  return (text.split('\n', 1)[0] ?? '').trim() === '#cloud-config';
}
