import { type GcOpenContext, type GcSession, UsageError } from '@mantle/cluster';
import { type AwsClients, createAwsClients } from '../api/clients.js';
import { awsCall } from '../api/errors.js';
import type { AwsOptions } from '../options.js';
import { ownerTag } from '../tags.js';
import { imagesKind } from './images.js';
import { instancesKind } from './instances.js';
import { keyPairsKind } from './key-pairs.js';
import { multipartUploadsKind } from './multipart-uploads.js';
import { networkKinds } from './network.js';
import { s3ObjectsKind } from './s3-objects.js';
import type { AwsGcEnv } from './shared.js';
import { snapshotsKind } from './snapshots.js';

const regionPattern = /^[a-z]{2}(-[a-z]+)+-\d+$/;

/**
 * `ore aws gc`: says whose account this is (STS), resolves the regions (the configured one, the
 * ones asked for, or every enabled region) and returns the kinds bound to them.
 */
export async function openAwsGc(options: AwsOptions, ctx: GcOpenContext): Promise<GcSession> {
  for (const r of ctx.locations)
    if (!regionPattern.test(r))
      throw new UsageError(`--region ${JSON.stringify(r)}: must look like us-west-2`);
  const home = createAwsClients(options);
  const regional = new Map<string, AwsClients>([[home.region, home]]);
  const env: AwsGcEnv = {
    clients(region) {
      let c = regional.get(region);
      if (!c) {
        c = home.inRegion(region);
        regional.set(region, c);
      }
      return c;
    },
  };
  const close = async () => {
    for (const c of regional.values()) c.destroy();
  };
  try {
    const { GetCallerIdentityCommand } = await import('@aws-sdk/client-sts');
    const sts = await home.sts();
    const who = await awsCall('GetCallerIdentity', () =>
      sts.send(new GetCallerIdentityCommand({}), { abortSignal: ctx.signal }),
    );
    let locations: string[];
    if (ctx.allLocations) {
      const { DescribeRegionsCommand } = await import('@aws-sdk/client-ec2');
      const ec2 = await home.ec2();
      // Enabled regions only: the others answer every call with an opt-in error.
      const answer = await awsCall('DescribeRegions', () =>
        ec2.send(new DescribeRegionsCommand({}), { abortSignal: ctx.signal }),
      );
      locations = (answer.Regions ?? []).flatMap((r) => (r.RegionName ? [r.RegionName] : [])).sort();
    } else locations = ctx.locations.length > 0 ? [...new Set(ctx.locations)] : [options.region];
    return {
      identity: { account: who.Account ?? '', arn: who.Arn ?? '' },
      ownerTag: { ...ownerTag },
      locations,
      kinds: [
        instancesKind(env),
        keyPairsKind(env),
        ...networkKinds(env),
        imagesKind(env),
        snapshotsKind(env),
        s3ObjectsKind(env),
        multipartUploadsKind(env),
      ],
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}
