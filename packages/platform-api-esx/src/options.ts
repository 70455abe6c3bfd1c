import { z } from 'zod';

/**
 * `--esx-*` flags. Inventory names default to the only one there is: with two or more, the error
 * names them (mantle took govmomi's "default" and broke on any vCenter with more than one).
 */
export const esxOptions = z.object({
  server: z
    .string()
    .optional()
    .describe('vCenter or ESXi: host[:port] or https://host/sdk (else $GOVC_URL, else the profile)')
    .meta({ aliases: ['--server'], valueName: 'HOST' }),
  configFile: z
    .string()
    .optional()
    .describe(
      'mantle profile file {"<profile>": {"server", "user", "password"}} (default ~/.config/esx.json)',
    )
    .meta({ aliases: ['--config-file'], valueName: 'FILE' }),
  profile: z
    .string()
    .optional()
    .describe('profile of the config file (default: default)')
    .meta({ aliases: ['--profile'], valueName: 'NAME' }),
  user: z
    .string()
    .optional()
    .describe('user (else $GOVC_USERNAME, else the profile)')
    .meta({ valueName: 'USER' }),
  password: z
    .string()
    .optional()
    .describe('password (else $GOVC_PASSWORD, else the profile)')
    .meta({ secret: true, valueName: 'PASSWORD' }),
  insecure: z
    .boolean()
    .default(false)
    .describe('do not verify the server’s TLS certificate (also $GOVC_INSECURE=1); verified by default'),
  ca: z.string().optional().describe('PEM file of CAs to trust for the server').meta({ valueName: 'FILE' }),
  datacenter: z
    .string()
    .optional()
    .describe('datacenter (default: the only one)')
    .meta({ valueName: 'NAME' }),
  datastore: z
    .string()
    .optional()
    .describe('datastore (default: the only one of the datacenter)')
    .meta({ valueName: 'NAME' }),
  resourcePool: z
    .string()
    .optional()
    .describe('resource pool, by inventory path or name (default: the only one)')
    .meta({ valueName: 'POOL' }),
  network: z
    .string()
    .optional()
    .describe('network of the first NIC (default: the only one of the datacenter)')
    .meta({ valueName: 'NAME' }),
  folder: z
    .string()
    .optional()
    .describe('VM folder, inventory path below the datacenter’s vm folder (default: the vm folder)')
    .meta({ valueName: 'PATH' }),
  baseVm: z
    .string()
    .optional()
    .describe('VM (or template) to clone: name or inventory path (ore esx create-base makes one)')
    .meta({ valueName: 'NAME' }),
});

export type EsxOptions = z.output<typeof esxOptions>;
