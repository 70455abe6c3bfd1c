import {
  type _InstanceType,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  type EC2Client,
  GetConsoleOutputCommand,
  type Instance,
  RunInstancesCommand,
  type Tag,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { awsCall, isNotFound } from './errors.js';

const opts = (signal?: AbortSignal) => (signal ? { abortSignal: signal } : {});

export interface RunInstanceInput {
  imageId: string;
  instanceType: string;
  subnetId: string;
  securityGroupId: string;
  /** Raw userdata; sent base64-encoded. */
  userData: string;
  keyName?: string;
  iamInstanceProfile?: string;
  /** Tags of the instance and of its volumes. */
  tags: Tag[];
  /** Idempotency token: a retried call cannot start a second instance. */
  clientToken: string;
}

/** Starts one instance; returns its id. */
export async function runInstance(ec2: EC2Client, input: RunInstanceInput, signal?: AbortSignal) {
  const r = await awsCall('RunInstances', () =>
    ec2.send(
      new RunInstancesCommand({
        ImageId: input.imageId,
        // EC2's list of types grows faster than the SDK's enum: any string EC2 accepts goes
        InstanceType: input.instanceType as _InstanceType,
        MinCount: 1,
        MaxCount: 1,
        SubnetId: input.subnetId,
        SecurityGroupIds: [input.securityGroupId],
        UserData: Buffer.from(input.userData).toString('base64'),
        ClientToken: input.clientToken,
        ...(input.keyName ? { KeyName: input.keyName } : {}),
        ...(input.iamInstanceProfile ? { IamInstanceProfile: { Name: input.iamInstanceProfile } } : {}),
        TagSpecifications: [
          { ResourceType: 'instance', Tags: input.tags },
          { ResourceType: 'volume', Tags: input.tags },
        ],
      }),
      opts(signal),
    ),
  );
  const id = r.Instances?.[0]?.InstanceId;
  if (!id) throw new Error('RunInstances returned no instance');
  return id;
}

export interface InstanceInfo {
  instanceId: string;
  /** pending, running, shutting-down, terminated, stopping, stopped */
  state: string;
  publicIp?: string;
  privateIp?: string;
}

/** The instance, or undefined when EC2 no longer knows it. */
export async function describeInstance(
  ec2: EC2Client,
  instanceId: string,
  signal?: AbortSignal,
): Promise<InstanceInfo | undefined> {
  let instance: Instance | undefined;
  try {
    const r = await awsCall('DescribeInstances', () =>
      ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }), opts(signal)),
    );
    instance = (r.Reservations ?? [])
      .flatMap((res) => res.Instances ?? [])
      .find((i) => i.InstanceId === instanceId);
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
  if (!instance) return undefined;
  return {
    instanceId,
    state: instance.State?.Name ?? 'unknown',
    ...(instance.PublicIpAddress ? { publicIp: instance.PublicIpAddress } : {}),
    ...(instance.PrivateIpAddress ? { privateIp: instance.PrivateIpAddress } : {}),
  };
}

/** Terminates instances; ids EC2 no longer knows count as done. */
export async function terminateInstances(ec2: EC2Client, ids: string[], signal?: AbortSignal): Promise<void> {
  if (!ids.length) return;
  try {
    await awsCall('TerminateInstances', () =>
      ec2.send(new TerminateInstancesCommand({ InstanceIds: ids }), opts(signal)),
    );
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
}

/** The serial console (decoded), '' when EC2 has none yet. */
export async function consoleOutput(
  ec2: EC2Client,
  instanceId: string,
  signal?: AbortSignal,
): Promise<string> {
  const r = await awsCall('GetConsoleOutput', () =>
    ec2.send(new GetConsoleOutputCommand({ InstanceId: instanceId, Latest: true }), opts(signal)),
  );
  return r.Output ? Buffer.from(r.Output, 'base64').toString('utf8') : '';
}

export interface ImageInfo {
  imageId: string;
  name: string;
  creationDate: string;
}

/** Images this account owns with exactly this name. */
export async function ownImagesNamed(
  ec2: EC2Client,
  name: string,
  signal?: AbortSignal,
): Promise<ImageInfo[]> {
  const r = await awsCall('DescribeImages', () =>
    ec2.send(
      new DescribeImagesCommand({ Owners: ['self'], Filters: [{ Name: 'name', Values: [name] }] }),
      opts(signal),
    ),
  );
  return (r.Images ?? [])
    .filter((i) => i.ImageId && i.Name === name)
    .map((i) => ({ imageId: i.ImageId!, name: i.Name!, creationDate: i.CreationDate ?? '' }));
}
