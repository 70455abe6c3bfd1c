import type { GcContext } from '@mantle/cluster';
import { awsCall } from '../api/errors.js';
import { ownerTag } from '../tags.js';
import { type AwsGcEnv, perRun, providerCode, tagMap } from './shared.js';

/** An S3 bucket carrying the owner tag, in one of the regions asked for. */
export interface OwnedBucket {
  name: string;
  region: string;
  /** The bucket's tags: objects and uploads in it inherit them (S3 objects carry no owner tag). */
  tags: Record<string, string>;
}

/**
 * S3 is global: the buckets are listed once per run (from the first region asked for), then each
 * bucket's region decides whether it is in scope and which endpoint its objects are listed from.
 */
export function ownedBuckets(env: AwsGcEnv, ctx: GcContext): Promise<OwnedBucket[]> {
  return perRun(ctx, 'buckets', async () => {
    const s3mod = await import('@aws-sdk/client-s3');
    const first = ctx.locations[0];
    if (!first) return [];
    const s3 = await env.clients(first).s3();
    const opts = { abortSignal: ctx.signal };
    const buckets: Array<{ name: string; region?: string }> = [];
    let token: string | undefined;
    do {
      const page = await awsCall('ListBuckets', () =>
        s3.send(
          new s3mod.ListBucketsCommand({ MaxBuckets: 1000, ...(token ? { ContinuationToken: token } : {}) }),
          opts,
        ),
      );
      for (const b of page.Buckets ?? [])
        if (b.Name) buckets.push({ name: b.Name, ...(b.BucketRegion ? { region: b.BucketRegion } : {}) });
      token = page.ContinuationToken;
    } while (token);
    const wanted = new Set(ctx.locations);
    const owned: OwnedBucket[] = [];
    await Promise.all(
      buckets.map(async (b) => {
        try {
          let region = b.region;
          if (!region) {
            const where = await awsCall('GetBucketLocation', () =>
              s3.send(new s3mod.GetBucketLocationCommand({ Bucket: b.name }), opts),
            );
            // No constraint means us-east-1; "EU" is the legacy name of eu-west-1.
            const constraint = where.LocationConstraint as string | undefined;
            region = !constraint ? 'us-east-1' : constraint === 'EU' ? 'eu-west-1' : constraint;
          }
          if (!wanted.has(region)) return;
          const regional = await env.clients(region).s3();
          const tagging = await awsCall('GetBucketTagging', () =>
            regional.send(new s3mod.GetBucketTaggingCommand({ Bucket: b.name }), opts),
          );
          const tags = tagMap(tagging.TagSet);
          if (tags[ownerTag.key] !== undefined) owned.push({ name: b.name, region, tags });
        } catch (e) {
          // An untagged bucket, or one deleted since the listing, is not ours to look into.
          const code = providerCode(e);
          if (code === 'NoSuchTagSet' || code === 'NoSuchBucket') return;
          throw e;
        }
      }),
    );
    return owned.sort((a, b) => a.name.localeCompare(b.name));
  });
}
