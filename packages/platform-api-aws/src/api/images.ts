import {
  CopyImageCommand,
  CreateTagsCommand,
  DeleteSnapshotCommand,
  DeregisterImageCommand,
  DescribeImageAttributeCommand,
  DescribeImagesCommand,
  DescribeImportSnapshotTasksCommand,
  DescribeSnapshotAttributeCommand,
  DescribeSnapshotsCommand,
  type Filter,
  type Image,
  ImportSnapshotCommand,
  type ImportSnapshotTask,
  ModifyImageAttributeCommand,
  ModifySnapshotAttributeCommand,
  RegisterImageCommand,
  type Snapshot,
} from '@aws-sdk/client-ec2';
import type { AwsClients } from './clients.js';
import { awsCall, isNotFound } from './errors.js';

export type { Image, ImportSnapshotTask, Snapshot };

export function tagsOf(resource: { Tags?: Array<{ Key?: string; Value?: string }> }): Record<string, string> {
  return Object.fromEntries((resource.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
}

const tagList = (tags: Record<string, string>) =>
  Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));

/** Images this account owns, filtered (e.g. `name`, `tag:CreatedBy`); follows pages. */
export async function describeOwnImages(
  clients: AwsClients,
  filters: Filter[],
  signal: AbortSignal,
  imageIds?: string[],
): Promise<Image[]> {
  const ec2 = await clients.ec2();
  const images: Image[] = [];
  let token: string | undefined;
  do {
    const out = await awsCall('DescribeImages', () =>
      ec2.send(
        new DescribeImagesCommand({
          Owners: ['self'],
          ...(filters.length ? { Filters: filters } : {}),
          ...(imageIds ? { ImageIds: imageIds } : {}),
          ...(token ? { NextToken: token } : {}),
        }),
        { abortSignal: signal },
      ),
    );
    images.push(...(out.Images ?? []));
    token = out.NextToken;
  } while (token);
  return images;
}

/** One image by id, or undefined when it does not exist (or is not this account's). */
export async function describeOwnImage(
  clients: AwsClients,
  imageId: string,
  signal: AbortSignal,
): Promise<Image | undefined> {
  try {
    return (await describeOwnImages(clients, [], signal, [imageId]))[0];
  } catch (e) {
    if (isNotFound(e) || /Malformed/.test(String((e as Error).message))) return undefined;
    throw e;
  }
}

export async function describeOwnSnapshots(
  clients: AwsClients,
  filters: Filter[],
  signal: AbortSignal,
  snapshotIds?: string[],
): Promise<Snapshot[]> {
  const ec2 = await clients.ec2();
  const snapshots: Snapshot[] = [];
  let token: string | undefined;
  do {
    const out = await awsCall('DescribeSnapshots', () =>
      ec2.send(
        new DescribeSnapshotsCommand({
          OwnerIds: ['self'],
          ...(filters.length ? { Filters: filters } : {}),
          ...(snapshotIds ? { SnapshotIds: snapshotIds } : {}),
          ...(token ? { NextToken: token } : {}),
        }),
        { abortSignal: signal },
      ),
    );
    snapshots.push(...(out.Snapshots ?? []));
    token = out.NextToken;
  } while (token);
  return snapshots;
}

export async function createTags(
  clients: AwsClients,
  resourceIds: string[],
  tags: Record<string, string>,
  signal: AbortSignal,
): Promise<void> {
  if (resourceIds.length === 0 || Object.keys(tags).length === 0) return;
  const ec2 = await clients.ec2();
  await awsCall('CreateTags', () =>
    ec2.send(new CreateTagsCommand({ Resources: resourceIds, Tags: tagList(tags) }), { abortSignal: signal }),
  );
}

export interface RegisterImageInput {
  name: string;
  description?: string;
  snapshotId: string;
  volumeSizeGib: number;
  rootDevice: string;
  volumeType: 'gp3' | 'gp2';
}

/** An HVM x86_64 image booting from the snapshot, with ENA and SR-IOV. */
export async function registerImage(
  clients: AwsClients,
  input: RegisterImageInput,
  signal: AbortSignal,
): Promise<string> {
  const ec2 = await clients.ec2();
  const out = await awsCall('RegisterImage', () =>
    ec2.send(
      new RegisterImageCommand({
        Name: input.name,
        ...(input.description ? { Description: input.description } : {}),
        Architecture: 'x86_64',
        VirtualizationType: 'hvm',
        RootDeviceName: input.rootDevice,
        BlockDeviceMappings: [
          {
            DeviceName: input.rootDevice,
            Ebs: {
              SnapshotId: input.snapshotId,
              VolumeSize: input.volumeSizeGib,
              VolumeType: input.volumeType,
              DeleteOnTermination: true,
            },
          },
        ],
        EnaSupport: true,
        SriovNetSupport: 'simple',
      }),
      { abortSignal: signal },
    ),
  );
  if (!out.ImageId) throw new Error(`RegisterImage ${input.name} returned no image id`);
  return out.ImageId;
}

export async function deregisterImage(
  clients: AwsClients,
  imageId: string,
  signal: AbortSignal,
): Promise<void> {
  const ec2 = await clients.ec2();
  try {
    await awsCall('DeregisterImage', () =>
      ec2.send(new DeregisterImageCommand({ ImageId: imageId }), { abortSignal: signal }),
    );
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
}

export async function deleteSnapshot(
  clients: AwsClients,
  snapshotId: string,
  signal: AbortSignal,
): Promise<void> {
  const ec2 = await clients.ec2();
  try {
    await awsCall('DeleteSnapshot', () =>
      ec2.send(new DeleteSnapshotCommand({ SnapshotId: snapshotId }), { abortSignal: signal }),
    );
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
}

export async function importSnapshot(
  clients: AwsClients,
  input: {
    description: string;
    format: 'RAW' | 'VMDK';
    bucket: string;
    key: string;
    roleName: string;
    tags: Record<string, string>;
  },
  signal: AbortSignal,
): Promise<string> {
  const ec2 = await clients.ec2();
  const out = await awsCall('ImportSnapshot', () =>
    ec2.send(
      new ImportSnapshotCommand({
        Description: input.description,
        RoleName: input.roleName,
        DiskContainer: {
          Description: input.description,
          Format: input.format,
          UserBucket: { S3Bucket: input.bucket, S3Key: input.key },
        },
        TagSpecifications: [{ ResourceType: 'import-snapshot-task', Tags: tagList(input.tags) }],
      }),
      { abortSignal: signal },
    ),
  );
  if (!out.ImportTaskId) throw new Error('ImportSnapshot returned no task id');
  return out.ImportTaskId;
}

/** The named tasks, or every recent task of the account when `taskIds` is empty. */
export async function describeImportSnapshotTasks(
  clients: AwsClients,
  taskIds: string[],
  signal: AbortSignal,
): Promise<ImportSnapshotTask[]> {
  const ec2 = await clients.ec2();
  const tasks: ImportSnapshotTask[] = [];
  let token: string | undefined;
  do {
    const out = await awsCall('DescribeImportSnapshotTasks', () =>
      ec2.send(
        new DescribeImportSnapshotTasksCommand({
          ...(taskIds.length ? { ImportTaskIds: taskIds } : {}),
          ...(token ? { NextToken: token } : {}),
        }),
        { abortSignal: signal },
      ),
    );
    tasks.push(...(out.ImportSnapshotTasks ?? []));
    token = out.NextToken;
  } while (token);
  return tasks;
}

/** Copies an image from `sourceRegion` into the region of `clients`. */
export async function copyImage(
  clients: AwsClients,
  input: { sourceRegion: string; sourceImageId: string; name: string; description?: string },
  signal: AbortSignal,
): Promise<string> {
  const ec2 = await clients.ec2();
  const out = await awsCall('CopyImage', () =>
    ec2.send(
      new CopyImageCommand({
        SourceRegion: input.sourceRegion,
        SourceImageId: input.sourceImageId,
        Name: input.name,
        ...(input.description ? { Description: input.description } : {}),
      }),
      { abortSignal: signal },
    ),
  );
  if (!out.ImageId) throw new Error('CopyImage returned no image id');
  return out.ImageId;
}

export interface Permissions {
  userIds: string[];
  groups: string[];
}

export async function imageLaunchPermissions(
  clients: AwsClients,
  imageId: string,
  signal: AbortSignal,
): Promise<Permissions> {
  const ec2 = await clients.ec2();
  const out = await awsCall('DescribeImageAttribute', () =>
    ec2.send(new DescribeImageAttributeCommand({ ImageId: imageId, Attribute: 'launchPermission' }), {
      abortSignal: signal,
    }),
  );
  const perms = out.LaunchPermissions ?? [];
  return {
    userIds: perms.flatMap((p) => (p.UserId ? [p.UserId] : [])),
    groups: perms.flatMap((p) => (p.Group ? [p.Group] : [])),
  };
}

export async function addImageLaunchPermissions(
  clients: AwsClients,
  imageId: string,
  perms: Permissions,
  signal: AbortSignal,
): Promise<void> {
  if (!perms.userIds.length && !perms.groups.length) return;
  const ec2 = await clients.ec2();
  await awsCall('ModifyImageAttribute', () =>
    ec2.send(
      new ModifyImageAttributeCommand({
        ImageId: imageId,
        LaunchPermission: {
          Add: [
            ...perms.userIds.map((UserId) => ({ UserId })),
            ...perms.groups.map((Group) => ({ Group: Group as 'all' })),
          ],
        },
      }),
      { abortSignal: signal },
    ),
  );
}

export async function snapshotVolumePermissions(
  clients: AwsClients,
  snapshotId: string,
  signal: AbortSignal,
): Promise<Permissions> {
  const ec2 = await clients.ec2();
  const out = await awsCall('DescribeSnapshotAttribute', () =>
    ec2.send(
      new DescribeSnapshotAttributeCommand({ SnapshotId: snapshotId, Attribute: 'createVolumePermission' }),
      { abortSignal: signal },
    ),
  );
  const perms = out.CreateVolumePermissions ?? [];
  return {
    userIds: perms.flatMap((p) => (p.UserId ? [p.UserId] : [])),
    groups: perms.flatMap((p) => (p.Group ? [p.Group] : [])),
  };
}

export async function addSnapshotVolumePermissions(
  clients: AwsClients,
  snapshotId: string,
  perms: Permissions,
  signal: AbortSignal,
): Promise<void> {
  if (!perms.userIds.length && !perms.groups.length) return;
  const ec2 = await clients.ec2();
  await awsCall('ModifySnapshotAttribute', () =>
    ec2.send(
      new ModifySnapshotAttributeCommand({
        SnapshotId: snapshotId,
        Attribute: 'createVolumePermission',
        OperationType: 'add',
        ...(perms.userIds.length ? { UserIds: perms.userIds } : {}),
        ...(perms.groups.length ? { GroupNames: perms.groups } : {}),
      }),
      { abortSignal: signal },
    ),
  );
}
