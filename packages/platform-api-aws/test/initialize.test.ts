import { GetRoleCommand, GetRolePolicyCommand } from '@aws-sdk/client-iam';
import { GetBucketTaggingCommand, HeadBucketCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type AwsClients, createAwsClients } from '../src/api/clients.js';
import { type Moto, motoCredentials, startMoto } from '../src/testing/moto.js';
import { runVerb } from './ore-verbs.js';

let moto: Moto;
let clients: AwsClients;

beforeAll(async () => {
  moto = await startMoto();
  process.env.AWS_ACCESS_KEY_ID = motoCredentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = motoCredentials.secretAccessKey;
});
afterAll(async () => {
  clients?.destroy();
  await moto?.stop();
});
beforeEach(async () => {
  await moto.reset();
  clients?.destroy();
  clients = createAwsClients(moto.options(), { maxAttempts: 1 });
});

describe('ore aws initialize', () => {
  it('creates the tagged bucket and the vmimport role with its policy, then reuses them', async () => {
    const first = await runVerb(moto, 'initialize', {});
    expect(first.error).toBeUndefined();
    const bucket = 'kola-images-123456789012-us-west-2';
    expect(first.results[0]).toMatchObject({
      account: '123456789012',
      bucket: { name: bucket, status: 'created' },
      role: { name: 'vmimport', status: 'created' },
      policy: { name: `vmimport-${bucket}`, status: 'created' },
    });
    const s3 = await clients.s3();
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
    const tagging = await s3.send(new GetBucketTaggingCommand({ Bucket: bucket }));
    expect(tagging.TagSet).toContainEqual({ Key: 'CreatedBy', Value: 'mantle' });
    const iam = await clients.iam();
    const role = await iam.send(new GetRoleCommand({ RoleName: 'vmimport' }));
    const trust = JSON.parse(decodeURIComponent(role.Role!.AssumeRolePolicyDocument!));
    expect(trust.Statement[0]).toMatchObject({
      Principal: { Service: 'vmie.amazonaws.com' },
      Condition: { StringEquals: { 'sts:ExternalId': 'vmimport' } },
    });
    const policy = await iam.send(
      new GetRolePolicyCommand({ RoleName: 'vmimport', PolicyName: `vmimport-${bucket}` }),
    );
    const doc = JSON.parse(decodeURIComponent(policy.PolicyDocument!));
    expect(doc.Statement[0].Action).toEqual(['s3:ListBucket', 's3:GetBucketLocation', 's3:GetObject']);
    expect(doc.Statement[0].Resource).toContain(`arn:aws:s3:::${bucket}/*`);
    expect(doc.Statement[1].Action).toEqual([
      'ec2:ModifySnapshotAttribute',
      'ec2:CopySnapshot',
      'ec2:RegisterImage',
      'ec2:Describe*',
    ]);

    const second = await runVerb(moto, 'initialize', {});
    expect(second.results[0]).toMatchObject({
      bucket: { status: 'reused' },
      role: { status: 'reused' },
      policy: { status: 'reused' },
    });
  });

  it('adds a policy for a second bucket without taking the first one away', async () => {
    await runVerb(moto, 'initialize', { bucket: 'first-images' });
    const run = await runVerb(moto, 'initialize', { bucket: 'second-images' });
    expect(run.results[0]).toMatchObject({ role: { status: 'reused' }, policy: { status: 'created' } });
    const iam = await clients.iam();
    for (const b of ['first-images', 'second-images'])
      await iam.send(new GetRolePolicyCommand({ RoleName: 'vmimport', PolicyName: `vmimport-${b}` }));
  });
});
