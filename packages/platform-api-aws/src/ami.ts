import { ConfigError } from '@mantle/cluster';
import type { ImageInfo } from './api/instances.js';
import type { AwsOptions } from './options.js';

/** What the flight resolved `--aws-ami` to; properties.json reports it. No SDK is loaded here. */
export interface ResolvedAmi {
  amiId: string;
  /** The name given to --aws-ami, when it was a name. */
  amiName?: string;
}

/** An AMI id as EC2 writes them. */
export function isAmiId(value: string): boolean {
  return /^ami-[0-9a-f]{8,17}$/.test(value);
}

/**
 * `--aws-ami`: an id is used as given; anything else is the name of an AMI this account owns
 * (DescribeImages Owners=self), the newest when several share it.
 */
export async function resolveAmi(
  options: AwsOptions,
  imagesNamed: (name: string) => Promise<ImageInfo[]>,
): Promise<ResolvedAmi> {
  const ami = options.ami?.trim();
  if (!ami)
    throw new ConfigError('--aws-ami is required', {
      hint: 'an AMI id (ami-…) or the name of an AMI this account owns; ore aws upload makes one',
    });
  if (isAmiId(ami)) return { amiId: ami };
  const images = await imagesNamed(ami);
  const newest = images.sort((a, b) => b.creationDate.localeCompare(a.creationDate))[0];
  if (!newest)
    throw new ConfigError(`--aws-ami ${ami}: no AMI named "${ami}" in ${options.region}`, {
      hint: 'give an AMI id, or the exact name of an AMI this account owns in that region',
    });
  return { amiId: newest.imageId, amiName: ami };
}

/** The aws block of properties.json: mantle's region/ami/type (the flight adds the AMI as resolved). */
export function awsProperties(options: AwsOptions): Record<string, unknown> {
  return {
    region: options.region,
    ami: options.ami ?? '',
    type: options.type,
    securityGroup: options.sg,
    ...(options.subnet ? { subnet: options.subnet } : {}),
    ...(options.iamProfile ? { iamProfile: options.iamProfile } : {}),
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
  };
}
