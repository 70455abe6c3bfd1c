import { ConfigError } from '@mantle/cluster';
import { createAwsClients } from '../api/clients.js';
import { awsErrorCode } from '../api/errors.js';
import { createRole, getRole, getRolePolicy, putRolePolicy } from '../api/iam.js';
import { blockPublicAccess, createBucket, getBucketTags, putBucketTags } from '../api/s3.js';
import { callerAccount } from '../api/sts.js';
import { ownerTag } from '../tags.js';
import { defaultBucket } from './common.js';
import type { AwsVerbInput, initializeOptions } from './schemas.js';

/** The role ImportSnapshot assumes (its name is fixed by AWS VM Import). */
export const importRoleName = 'vmimport';

export const importTrustPolicy = {
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Principal: { Service: 'vmie.amazonaws.com' },
      Action: 'sts:AssumeRole',
      Condition: { StringEquals: { 'sts:ExternalId': 'vmimport' } },
    },
  ],
};

export function importRolePolicy(bucket: string) {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Action: ['s3:ListBucket', 's3:GetBucketLocation', 's3:GetObject'],
        Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`],
      },
      {
        Effect: 'Allow',
        Action: ['ec2:ModifySnapshotAttribute', 'ec2:CopySnapshot', 'ec2:RegisterImage', 'ec2:Describe*'],
        Resource: '*',
      },
    ],
  };
}

type Outcome = 'created' | 'reused' | 'updated';

/**
 * `ore aws initialize`: the staging bucket (tagged CreatedBy=mantle, public access blocked) and the
 * vmimport role with one inline policy per bucket, so initializing a second region's bucket does not
 * take the first one's access away (mantle overwrote a single policy).
 */
export async function runInitialize(input: AwsVerbInput<typeof initializeOptions>): Promise<number> {
  const { options } = input;
  const platform = input.platformOptions;
  const { signal, io, log } = input;
  const clients = createAwsClients(platform);
  try {
    const account = await callerAccount(clients, signal);
    const bucket = options.bucket ?? defaultBucket(account, clients.region);

    let bucketOutcome: Outcome;
    try {
      bucketOutcome = (await createBucket(clients, bucket, signal)) === 'created' ? 'created' : 'reused';
    } catch (e) {
      if (awsErrorCode((e as { cause?: unknown }).cause) === 'BucketAlreadyExists')
        throw new ConfigError(`--bucket ${bucket}: the name is taken by another AWS account; choose another`);
      throw e;
    }
    const tags = await getBucketTags(clients, bucket, signal);
    if (tags[ownerTag.key] !== ownerTag.value) {
      await putBucketTags(clients, bucket, { ...tags, [ownerTag.key]: ownerTag.value }, signal);
      if (bucketOutcome === 'reused') bucketOutcome = 'updated';
    }
    if (bucketOutcome === 'created') await blockPublicAccess(clients, bucket, signal);
    log.info(`bucket ${bucket}: ${bucketOutcome}`);

    let roleOutcome: Outcome = 'reused';
    let role = await getRole(clients, importRoleName, signal);
    if (!role) {
      role = await createRole(
        clients,
        {
          name: importRoleName,
          description: 'AWS VM Import (ImportSnapshot) reads images from the ore staging buckets',
          trustPolicy: importTrustPolicy,
          tags: { [ownerTag.key]: ownerTag.value },
        },
        signal,
      );
      roleOutcome = 'created';
    }
    const policyName = `vmimport-${bucket}`;
    const wanted = importRolePolicy(bucket);
    const current = await getRolePolicy(clients, importRoleName, policyName, signal);
    let policyOutcome: Outcome = 'reused';
    if (JSON.stringify(current) !== JSON.stringify(wanted)) {
      await putRolePolicy(clients, importRoleName, policyName, wanted, signal);
      policyOutcome = current === undefined ? 'created' : 'updated';
    }
    log.info(`role ${importRoleName}: ${roleOutcome}; policy ${policyName}: ${policyOutcome}`);

    io.result(
      {
        account,
        region: clients.region,
        bucket: { name: bucket, status: bucketOutcome },
        role: { name: importRoleName, arn: role.Arn, status: roleOutcome },
        policy: { name: policyName, status: policyOutcome },
      },
      [
        `bucket  ${bucket}: ${bucketOutcome}`,
        `role    ${importRoleName} (${role.Arn}): ${roleOutcome}`,
        `policy  ${policyName}: ${policyOutcome}`,
      ].join('\n'),
    );
    return 0;
  } finally {
    clients.destroy();
  }
}
