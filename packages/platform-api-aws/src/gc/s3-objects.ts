import type { GcResource, GcResourceKind } from '@mantle/cluster';
import { awsCall } from '../api/errors.js';
import { ownedBuckets } from './buckets.js';
import { type AwsGcEnv, chunks, groupBy } from './shared.js';

export const s3ObjectKind = 'aws.s3-object';

interface S3ObjectResource extends GcResource {
  bucket: string;
  key: string;
}

/** `ore aws upload` deletes its staging object once imported; what is left was interrupted. */
export function s3ObjectsKind(env: AwsGcEnv): GcResourceKind<S3ObjectResource> {
  return {
    kind: s3ObjectKind,
    description:
      'objects left by interrupted uploads in S3 buckets tagged CreatedBy=mantle (aged by LastModified)',
    async *list(ctx) {
      const { ListObjectsV2Command } = await import('@aws-sdk/client-s3');
      for (const bucket of await ownedBuckets(env, ctx)) {
        const s3 = await env.clients(bucket.region).s3();
        let token: string | undefined;
        do {
          const page = await awsCall('ListObjectsV2', () =>
            s3.send(
              new ListObjectsV2Command({
                Bucket: bucket.name,
                MaxKeys: 1000,
                ...(token ? { ContinuationToken: token } : {}),
              }),
              { abortSignal: ctx.signal },
            ),
          );
          for (const o of page.Contents ?? []) {
            if (o.Key === undefined) continue;
            yield {
              kind: s3ObjectKind,
              id: `${bucket.name}/${o.Key}`,
              location: bucket.region,
              ...(o.LastModified ? { createdAt: new Date(o.LastModified) } : {}),
              tags: bucket.tags,
              bucket: bucket.name,
              key: o.Key,
            };
          }
          token = page.IsTruncated ? page.NextContinuationToken : undefined;
        } while (token);
      }
    },
    // DeleteObjects takes 1000 keys: one request per 1000 leftovers.
    async removeMany(resources, ctx) {
      const { DeleteObjectsCommand } = await import('@aws-sdk/client-s3');
      const failures = new Map<string, unknown>();
      for (const [bucket, inBucket] of groupBy(resources, (r) => r.bucket)) {
        const s3 = await env.clients(inBucket[0]!.location ?? '').s3();
        for (const batch of chunks(inBucket, 1000)) {
          try {
            const answer = await awsCall('DeleteObjects', () =>
              s3.send(
                new DeleteObjectsCommand({
                  Bucket: bucket,
                  Delete: { Objects: batch.map((r) => ({ Key: r.key })), Quiet: true },
                }),
                { abortSignal: ctx.signal },
              ),
            );
            for (const err of answer.Errors ?? [])
              if (err.Key !== undefined && err.Code !== 'NoSuchKey')
                failures.set(`${bucket}/${err.Key}`, new Error(`DeleteObjects: ${err.Code}: ${err.Message}`));
          } catch (e) {
            if (ctx.signal.aborted) throw e;
            for (const r of batch) failures.set(r.id, e);
          }
        }
      }
      return failures;
    },
  };
}
