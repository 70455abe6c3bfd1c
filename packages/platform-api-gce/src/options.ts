import { z } from 'zod';

/** GCE names: a lowercase letter, then lowercase letters, digits and dashes, not ending in a dash. */
export const gceNamePattern = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

/** `--gce-*` flags (mantle's `ore gcloud` spellings as aliases), env vars and defaults. */
export const gceOptions = z.object({
  project: z
    .string()
    .regex(/^[a-z][-a-z0-9.:]{4,61}[a-z0-9]$/, 'must be a project id like my-project-123')
    .optional()
    .describe('project (default: $GOOGLE_CLOUD_PROJECT, else the project_id of the credentials)')
    .meta({ env: 'GOOGLE_CLOUD_PROJECT', aliases: ['--project'], valueName: 'ID' }),
  zone: z
    .string()
    .regex(/^[a-z]+-[a-z]+\d+-[a-z]$/, 'must be a zone like us-central1-a')
    .default('us-central1-a')
    .describe('zone of the instances')
    .meta({ aliases: ['--zone'], valueName: 'ZONE', location: true }),
  machinetype: z
    .string()
    .regex(/^[a-z0-9-]+$/, 'must be a machine type like n1-standard-1')
    .default('n1-standard-1')
    .describe('machine type')
    .meta({ aliases: ['--machinetype'], valueName: 'TYPE' }),
  disktype: z
    .string()
    .regex(/^[a-z0-9-]+$/, 'must be a disk type like pd-ssd')
    .default('pd-ssd')
    .describe('boot disk type')
    .meta({ aliases: ['--disktype'], valueName: 'TYPE' }),
  diskSize: z
    .number()
    .int()
    .min(10)
    .max(65536)
    .default(12)
    .describe('boot disk size in GB (mantle: 12)')
    .meta({ valueName: 'GB' }),
  network: z
    .string()
    .regex(gceNamePattern, 'must be a network name like default')
    .default('default')
    .describe('VPC network of the instances (SSH relies on its firewall rules, as in mantle)')
    .meta({ aliases: ['--network'], valueName: 'NAME' }),
  image: z
    .string()
    .optional()
    .describe(
      'image to boot: a name in the project, projects/<p>/global/images/<name> (or …/family/<family>), or a full URL',
    )
    .meta({ env: 'KOLA_GCE_IMAGE', aliases: ['--image'], valueName: 'IMAGE' }),
  basename: z
    .string()
    .regex(gceNamePattern, 'must be lowercase letters, digits and dashes, starting with a letter')
    .max(40)
    .default('kola')
    .describe('prefix of instance names (<basename>-<random>)')
    .meta({ aliases: ['--basename'], valueName: 'PREFIX' }),
  quotaWait: z
    .number()
    .min(0)
    .default(180)
    .describe(
      'seconds to keep asking when an instance is refused for quota (other tests free CPUs); 0: fail at once',
    )
    .meta({ valueName: 'SECONDS' }),
  jsonKey: z
    .string()
    .optional()
    .describe(
      'service-account key file (else $GOOGLE_APPLICATION_CREDENTIALS, else application default credentials)',
    )
    .meta({ aliases: ['--json-key'], valueName: 'FILE' }),
  serviceAuth: z
    .boolean()
    .default(false)
    .describe("use the VM's service account from the metadata server (on GCE only)")
    .meta({ aliases: ['--service-auth'] }),
  endpoint: z
    .url()
    .optional()
    .describe('one URL serving Compute, Storage and the token endpoint (private endpoints, emulators)')
    .meta({ valueName: 'URL' }),
});

export type GceOptions = z.output<typeof gceOptions>;
