import type { GcResource, GcResourceKind } from '@mantle/cluster';
import { awsCall, isNotFound } from '../api/errors.js';
import { instanceKind, ownedInstances } from './instances.js';
import { type AwsGcEnv, goneInRun, ownerFilter, regionOf, tagMap } from './shared.js';

export const keyPairKind = 'aws.key-pair';

/** kola names its key pairs after the flight: `kola-<flight name>`. */
const kolaKeyPrefix = 'kola-';

export function keyPairsKind(env: AwsGcEnv): GcResourceKind {
  return {
    kind: keyPairKind,
    description: 'EC2 key pairs named kola-* tagged CreatedBy=mantle, unless a live instance uses them',
    dependsOn: [instanceKind],
    async *list(ctx) {
      const { DescribeKeyPairsCommand } = await import('@aws-sdk/client-ec2');
      for (const region of ctx.locations) {
        const ec2 = await env.clients(region).ec2();
        // DescribeKeyPairs has no pages: one request answers for the whole region.
        const answer = await awsCall('DescribeKeyPairs', () =>
          ec2.send(new DescribeKeyPairsCommand({ Filters: [ownerFilter] }), { abortSignal: ctx.signal }),
        );
        for (const k of answer.KeyPairs ?? []) {
          if (!k.KeyName) continue;
          yield {
            kind: keyPairKind,
            id: k.KeyName,
            location: region,
            ...(k.KeyPairId ? { name: k.KeyPairId } : {}),
            ...(k.CreateTime ? { createdAt: new Date(k.CreateTime) } : {}),
            tags: tagMap(k.Tags),
          };
        }
      }
    },
    async protectedReason(resource: GcResource, ctx) {
      if (!resource.id.startsWith(kolaKeyPrefix))
        return `not a kola key pair (name does not start with ${kolaKeyPrefix})`;
      // A run still going (its instances kept) needs its key to reach them.
      const users = (await ownedInstances(env, ctx, regionOf(resource))).filter(
        (i) => i.KeyName === resource.id && !goneInRun(ctx, instanceKind, i.InstanceId ?? ''),
      );
      if (users.length > 0) return `used by ${users.map((i) => i.InstanceId).join(', ')}, which stays`;
      return undefined;
    },
    async remove(resource, ctx) {
      const { DeleteKeyPairCommand } = await import('@aws-sdk/client-ec2');
      const ec2 = await env.clients(regionOf(resource)).ec2();
      try {
        await awsCall('DeleteKeyPair', () =>
          ec2.send(new DeleteKeyPairCommand({ KeyName: resource.id }), { abortSignal: ctx.signal }),
        );
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    },
  };
}
