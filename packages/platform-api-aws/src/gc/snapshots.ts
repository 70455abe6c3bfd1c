import type { GcResourceKind } from '@mantle/cluster';
import { awsCall, isNotFound } from '../api/errors.js';
import { imageKind, ownedImages } from './images.js';
import { type AwsGcEnv, goneInRun, ownerFilter, regionOf, removedInRun, tagMap } from './shared.js';

export const snapshotKind = 'aws.snapshot';

export function snapshotsKind(env: AwsGcEnv): GcResourceKind {
  return {
    kind: snapshotKind,
    description:
      'EBS snapshots tagged CreatedBy=mantle whose expires-at tag has passed, unless an AMI that stays uses them',
    // AMIs are deregistered first: a snapshot an AMI uses cannot be deleted.
    dependsOn: [imageKind],
    expiryOnly: true,
    async *list(ctx) {
      const { DescribeSnapshotsCommand } = await import('@aws-sdk/client-ec2');
      for (const region of ctx.locations) {
        const ec2 = await env.clients(region).ec2();
        let token: string | undefined;
        do {
          const page = await awsCall('DescribeSnapshots', () =>
            ec2.send(
              new DescribeSnapshotsCommand({
                OwnerIds: ['self'],
                Filters: [ownerFilter],
                MaxResults: 1000,
                ...(token ? { NextToken: token } : {}),
              }),
              { abortSignal: ctx.signal },
            ),
          );
          for (const s of page.Snapshots ?? []) {
            if (!s.SnapshotId) continue;
            const tags = tagMap(s.Tags);
            yield {
              kind: snapshotKind,
              id: s.SnapshotId,
              location: region,
              ...(tags.Name ? { name: tags.Name } : {}),
              ...(s.StartTime ? { createdAt: new Date(s.StartTime) } : {}),
              tags,
            };
          }
          token = page.NextToken;
        } while (token);
      }
    },
    async protectedReason(resource, ctx) {
      const users = (await ownedImages(env, ctx, regionOf(resource))).filter(
        (image) =>
          !goneInRun(ctx, imageKind, image.ImageId ?? '') &&
          (image.BlockDeviceMappings ?? []).some((m) => m.Ebs?.SnapshotId === resource.id),
      );
      if (users.length > 0) return `used by ${users.map((i) => i.ImageId).join(', ')}, which stays`;
      return undefined;
    },
    async remove(resource, ctx) {
      const { DeleteSnapshotCommand } = await import('@aws-sdk/client-ec2');
      const ec2 = await env.clients(regionOf(resource)).ec2();
      try {
        await awsCall('DeleteSnapshot', () =>
          ec2.send(new DeleteSnapshotCommand({ SnapshotId: resource.id }), { abortSignal: ctx.signal }),
        );
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
      removedInRun(ctx, snapshotKind).add(resource.id);
    },
  };
}
