import type { Image } from '@aws-sdk/client-ec2';
import type { GcContext, GcResourceKind } from '@mantle/cluster';
import { awsCall, isNotFound } from '../api/errors.js';
import { ownerTag } from '../tags.js';
import { type AwsGcEnv, perRun, regionOf, removedInRun, tagMap } from './shared.js';

export const imageKind = 'aws.image';

/**
 * Every AMI this account owns in `region`, once per run: the image kind lists the tagged ones, the
 * snapshot kind needs all of them to see which snapshots an image that stays still uses.
 */
export function ownedImages(env: AwsGcEnv, ctx: GcContext, region: string): Promise<Image[]> {
  return perRun(ctx, `images:${region}`, async () => {
    const { DescribeImagesCommand } = await import('@aws-sdk/client-ec2');
    const ec2 = await env.clients(region).ec2();
    const out: Image[] = [];
    let token: string | undefined;
    do {
      const page = await awsCall('DescribeImages', () =>
        ec2.send(
          new DescribeImagesCommand({
            Owners: ['self'],
            IncludeDeprecated: true,
            MaxResults: 1000,
            ...(token ? { NextToken: token } : {}),
          }),
          { abortSignal: ctx.signal },
        ),
      );
      out.push(...(page.Images ?? []));
      token = page.NextToken;
    } while (token);
    return out;
  });
}

export function imagesKind(env: AwsGcEnv): GcResourceKind {
  return {
    kind: imageKind,
    description: 'AMIs tagged CreatedBy=mantle whose expires-at tag has passed (ore aws upload --expires-in)',
    expiryOnly: true,
    async *list(ctx) {
      for (const region of ctx.locations)
        for (const image of await ownedImages(env, ctx, region)) {
          const tags = tagMap(image.Tags);
          if (tags[ownerTag.key] === undefined || !image.ImageId) continue;
          yield {
            kind: imageKind,
            id: image.ImageId,
            location: region,
            ...(image.Name ? { name: image.Name } : {}),
            ...(image.CreationDate ? { createdAt: new Date(image.CreationDate) } : {}),
            tags,
          };
        }
    },
    async remove(resource, ctx) {
      const { DeregisterImageCommand } = await import('@aws-sdk/client-ec2');
      const ec2 = await env.clients(regionOf(resource)).ec2();
      try {
        await awsCall('DeregisterImage', () =>
          ec2.send(new DeregisterImageCommand({ ImageId: resource.id }), { abortSignal: ctx.signal }),
        );
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
      removedInRun(ctx, imageKind).add(resource.id);
    },
  };
}
