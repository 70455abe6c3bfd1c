import { z } from 'zod';

/**
 * The shape of an Ignition v3 config: every key of specs 3.0.0–3.4.0 with its type and per-field rules
 * (cross-field rules and version gates are in ignition-checks.ts).
 */

export const IGNITION_VERSIONS = ['3.0.0', '3.1.0', '3.2.0', '3.3.0', '3.4.0'] as const;
export type IgnitionVersion = (typeof IGNITION_VERSIONS)[number];
export const SUPPORTED_RANGE = `${IGNITION_VERSIONS[0]}–${IGNITION_VERSIONS[IGNITION_VERSIONS.length - 1]}`;

// Ignition's Go structs use pointers and slices, so JSON null is accepted wherever a field is optional.
const optStr = z.string().nullish();
const optBool = z.boolean().nullish();
const optInt = z.int().nullish();
const optStrList = z.array(z.string()).nullish();
const mode = z
  .int()
  .min(0, 'illegal file mode: must be an integer from 0 to 0o7777 (4095)')
  .max(0o7777, 'illegal file mode: must be an integer from 0 to 0o7777 (4095)')
  .nullish();
const nodePath = z
  .string()
  .refine((p) => p.startsWith('/'), 'path not absolute')
  .refine(isCleanPath, 'path is not fully simplified (no ".", "..", "//" or trailing "/")');

const httpHeaderSchema = z.strictObject({ name: z.string(), value: optStr });
const resourceSchema = z.strictObject({
  source: optStr,
  compression: optStr,
  httpHeaders: z.array(httpHeaderSchema).nullish(),
  verification: z.strictObject({ hash: optStr }).nullish(),
});
const nodeOwnerSchema = z.strictObject({ id: optInt, name: optStr });
const nodeFields = {
  path: nodePath,
  overwrite: optBool,
  user: nodeOwnerSchema.nullish(),
  group: nodeOwnerSchema.nullish(),
};

export const ignitionConfigSchema = z.strictObject({
  ignition: z.strictObject({
    version: z.string(),
    config: z
      .strictObject({ merge: z.array(resourceSchema).nullish(), replace: resourceSchema.nullish() })
      .nullish(),
    timeouts: z.strictObject({ httpResponseHeaders: optInt, httpTotal: optInt }).nullish(),
    security: z
      .strictObject({
        tls: z.strictObject({ certificateAuthorities: z.array(resourceSchema).nullish() }).nullish(),
      })
      .nullish(),
    proxy: z.strictObject({ httpProxy: optStr, httpsProxy: optStr, noProxy: optStrList }).nullish(),
  }),
  passwd: z
    .strictObject({
      users: z
        .array(
          z.strictObject({
            name: z.string().min(1, 'user name is empty'),
            passwordHash: optStr,
            sshAuthorizedKeys: optStrList,
            uid: optInt,
            gecos: optStr,
            homeDir: optStr,
            noCreateHome: optBool,
            primaryGroup: optStr,
            groups: optStrList,
            noUserGroup: optBool,
            noLogInit: optBool,
            shell: optStr,
            system: optBool,
            shouldExist: optBool,
          }),
        )
        .nullish(),
      groups: z
        .array(
          z.strictObject({
            name: z.string().min(1, 'group name is empty'),
            gid: optInt,
            passwordHash: optStr,
            system: optBool,
            shouldExist: optBool,
          }),
        )
        .nullish(),
    })
    .nullish(),
  storage: z
    .strictObject({
      disks: z
        .array(
          z.strictObject({
            device: z.string().min(1, 'disk device is required'),
            wipeTable: optBool,
            partitions: z
              .array(
                z.strictObject({
                  label: optStr,
                  number: optInt,
                  sizeMiB: optInt,
                  startMiB: optInt,
                  typeGuid: optStr,
                  guid: optStr,
                  wipePartitionEntry: optBool,
                  shouldExist: optBool,
                  resize: optBool,
                }),
              )
              .nullish(),
          }),
        )
        .nullish(),
      raid: z
        .array(
          z.strictObject({
            name: z.string().min(1, 'raid name is required'),
            level: optStr,
            devices: optStrList,
            spares: optInt,
            options: optStrList,
          }),
        )
        .nullish(),
      luks: z
        .array(
          z.strictObject({
            name: z.string().min(1, 'luks name is required'),
            label: optStr,
            uuid: optStr,
            device: optStr,
            keyFile: resourceSchema.nullish(),
            wipeVolume: optBool,
            options: optStrList,
            discard: optBool,
            openOptions: optStrList,
            clevis: z
              .strictObject({
                custom: z.strictObject({ pin: optStr, config: optStr, needsNetwork: optBool }).nullish(),
                tpm2: optBool,
                tang: z
                  .array(z.strictObject({ url: z.string(), thumbprint: optStr, advertisement: optStr }))
                  .nullish(),
                threshold: optInt,
              })
              .nullish(),
          }),
        )
        .nullish(),
      filesystems: z
        .array(
          z.strictObject({
            device: z.string().min(1, 'filesystem device is required'),
            path: nodePath.nullish(),
            format: optStr,
            wipeFilesystem: optBool,
            label: optStr,
            uuid: optStr,
            options: optStrList,
            mountOptions: optStrList,
          }),
        )
        .nullish(),
      files: z
        .array(
          z.strictObject({
            ...nodeFields,
            contents: resourceSchema.nullish(),
            append: z.array(resourceSchema).nullish(),
            mode,
          }),
        )
        .nullish(),
      directories: z.array(z.strictObject({ ...nodeFields, mode })).nullish(),
      links: z.array(z.strictObject({ ...nodeFields, target: optStr, hard: optBool })).nullish(),
    })
    .nullish(),
  systemd: z
    .strictObject({
      units: z
        .array(
          z.strictObject({
            name: z.string(),
            enabled: optBool,
            mask: optBool,
            contents: optStr,
            dropins: z.array(z.strictObject({ name: z.string(), contents: optStr })).nullish(),
          }),
        )
        .nullish(),
    })
    .nullish(),
  kernelArguments: z.strictObject({ shouldExist: optStrList, shouldNotExist: optStrList }).nullish(),
});

/** A parsed Ignition v3 config (the union of fields of specs 3.0.0–3.4.0; gated by `ignition.version`). */
export type IgnitionConfig = z.infer<typeof ignitionConfigSchema>;
export type IgnitionResource = z.infer<typeof resourceSchema>;
export type IgnitionFile = NonNullable<NonNullable<IgnitionConfig['storage']>['files']>[number];
export type IgnitionUnit = NonNullable<NonNullable<IgnitionConfig['systemd']>['units']>[number];

export function isCleanPath(p: string): boolean {
  if (p === '/') return true;
  return (
    !p.endsWith('/') &&
    !p
      .split('/')
      .slice(1)
      .some((s) => s === '' || s === '.' || s === '..')
  );
}
