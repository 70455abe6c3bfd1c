import { z } from 'zod';

/** `--aws-*` flags (and mantle's ore spellings as aliases), env vars and defaults. */
export const awsOptions = z.object({
  region: z
    .string()
    .regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'must look like us-west-2')
    .default('us-west-2')
    .describe('AWS region')
    .meta({ env: 'AWS_REGION', aliases: ['--region'], valueName: 'REGION', location: true }),
  profile: z
    .string()
    .optional()
    .describe(
      'profile in the shared config/credentials files (default: the SDK chain, which honours $AWS_PROFILE)',
    )
    .meta({ aliases: ['--profile'], valueName: 'NAME' }),
  credentialsFile: z
    .string()
    .optional()
    .describe('shared credentials file to read the profile from (default ~/.aws/credentials)')
    .meta({ aliases: ['--credentials-file'], valueName: 'FILE' }),
  ami: z
    .string()
    .optional()
    .describe('AMI to boot: an id (ami-…) or a name of an AMI this account owns')
    .meta({ env: 'KOLA_AWS_AMI', valueName: 'AMI' }),
  type: z.string().default('t3.small').describe('instance type').meta({ valueName: 'TYPE' }),
  sg: z
    .string()
    .default('kola')
    .describe('security group name; created with its VPC, subnets and gateway when missing')
    .meta({ valueName: 'NAME' }),
  iamProfile: z
    .string()
    .optional()
    .describe('IAM instance profile for the machines')
    .meta({ valueName: 'NAME' }),
  subnet: z
    .string()
    .optional()
    .describe(
      'subnet id to launch into (default: a subnet of the security group’s VPC, next AZ on capacity errors)',
    )
    .meta({ valueName: 'ID' }),
  consoleWait: z
    .number()
    .min(0)
    .default(30)
    .describe('seconds to wait after terminating for the final console output (mantle waited up to 300)')
    .meta({ valueName: 'SECONDS' }),
  endpoint: z
    .url()
    .optional()
    .describe('endpoint URL for every AWS service (private endpoints, emulators)')
    .meta({ env: 'AWS_ENDPOINT_URL', valueName: 'URL' }),
});

export type AwsOptions = z.output<typeof awsOptions>;
