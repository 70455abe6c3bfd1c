import type { Instance } from '@aws-sdk/client-ec2';
import type { GcContext, GcResource, GcResourceKind } from '@mantle/cluster';
import { awsCall, isNotFound } from '../api/errors.js';
import {
  type AwsGcEnv,
  chunks,
  groupBy,
  ownerFilter,
  perRun,
  regionOf,
  removedInRun,
  tagMap,
} from './shared.js';

export const instanceKind = 'aws.instance';

/** States an instance can be stopped from; terminated and shutting-down ones are on their way out. */
const liveStates = ['pending', 'running', 'stopping', 'stopped'];

export interface InstanceResource extends GcResource {
  keyName?: string;
  state?: string;
}

/**
 * Every live instance carrying the owner tag in `region`, fetched once per run: one
 * DescribeInstances page holds 1000 instances, and the key-pair kind reads the same listing.
 */
export function ownedInstances(env: AwsGcEnv, ctx: GcContext, region: string): Promise<Instance[]> {
  return perRun(ctx, `instances:${region}`, async () => {
    const ec2 = await env.clients(region).ec2();
    const { DescribeInstancesCommand } = await import('@aws-sdk/client-ec2');
    const out: Instance[] = [];
    let token: string | undefined;
    do {
      const page = await awsCall('DescribeInstances', () =>
        ec2.send(
          new DescribeInstancesCommand({
            Filters: [ownerFilter, { Name: 'instance-state-name', Values: liveStates }],
            MaxResults: 1000,
            ...(token ? { NextToken: token } : {}),
          }),
          { abortSignal: ctx.signal },
        ),
      );
      for (const r of page.Reservations ?? []) out.push(...(r.Instances ?? []));
      token = page.NextToken;
    } while (token);
    return out;
  });
}

/** Instance ids this run terminated, with the state TerminateInstances reported (shutting-down…). */
export function terminatedInRun(ctx: GcContext): Map<string, string> {
  return perRun(ctx, 'terminated-instances', () => new Map<string, string>());
}

export function instancesKind(env: AwsGcEnv): GcResourceKind<InstanceResource> {
  return {
    kind: instanceKind,
    description: 'EC2 instances (pending, running, stopping or stopped) tagged CreatedBy=mantle',
    async *list(ctx) {
      for (const region of ctx.locations) {
        for (const i of await ownedInstances(env, ctx, region)) {
          const tags = tagMap(i.Tags);
          yield {
            kind: instanceKind,
            id: i.InstanceId ?? '',
            location: region,
            ...(tags.Name ? { name: tags.Name } : {}),
            ...(i.LaunchTime ? { createdAt: new Date(i.LaunchTime) } : {}),
            tags,
            ...(i.KeyName ? { keyName: i.KeyName } : {}),
            ...(i.State?.Name ? { state: i.State.Name } : {}),
          };
        }
      }
    },
    // Termination is asked for, not waited on: pieces the instances hold stay "in use" until the
    // next run, which keeps the instance part at one list and one terminate per 1000.
    async removeMany(resources, ctx) {
      const failures = new Map<string, unknown>();
      const { TerminateInstancesCommand } = await import('@aws-sdk/client-ec2');
      const byRegion = groupBy(resources, regionOf);
      for (const [region, inRegion] of byRegion) {
        const ec2 = await env.clients(region).ec2();
        const terminate = async (ids: string[]) => {
          const answer = await awsCall('TerminateInstances', () =>
            ec2.send(new TerminateInstancesCommand({ InstanceIds: ids }), { abortSignal: ctx.signal }),
          );
          for (const t of answer.TerminatingInstances ?? [])
            if (t.InstanceId) terminatedInRun(ctx).set(t.InstanceId, t.CurrentState?.Name ?? 'shutting-down');
        };
        for (const batch of chunks(
          inRegion.map((r) => r.id),
          1000,
        )) {
          try {
            await terminate(batch);
            for (const id of batch) removedInRun(ctx, instanceKind).add(id);
          } catch (e) {
            if (ctx.signal.aborted) throw e;
            // One vanished id fails the whole request: ask again one by one so the rest still go.
            if (!isNotFound(e) || batch.length === 1) {
              if (isNotFound(e)) removedInRun(ctx, instanceKind).add(batch[0]!);
              else for (const id of batch) failures.set(id, e);
              continue;
            }
            for (const id of batch) {
              try {
                await terminate([id]);
                removedInRun(ctx, instanceKind).add(id);
              } catch (one) {
                if (ctx.signal.aborted) throw one;
                if (isNotFound(one)) removedInRun(ctx, instanceKind).add(id);
                else failures.set(id, one);
              }
            }
          }
        }
      }
      return failures;
    },
  };
}
