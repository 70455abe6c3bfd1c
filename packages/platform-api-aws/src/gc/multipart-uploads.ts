import type { GcResource, GcResourceKind } from '@mantle/cluster';
import { awsCall, isNotFound } from '../api/errors.js';
import { ownedBuckets } from './buckets.js';
import type { AwsGcEnv } from './shared.js';

export const multipartUploadKind = 'aws.multipart-upload';

interface MultipartUploadResource extends GcResource {
  bucket: string;
  key: string;
  uploadId: string;
}

/** Parts of an interrupted multipart upload are stored (and billed) until the upload is aborted. */
export function multipartUploadsKind(env: AwsGcEnv): GcResourceKind<MultipartUploadResource> {
  return {
    kind: multipartUploadKind,
    description: 'incomplete multipart uploads in S3 buckets tagged CreatedBy=mantle (aged by Initiated)',
    async *list(ctx) {
      const { ListMultipartUploadsCommand } = await import('@aws-sdk/client-s3');
      for (const bucket of await ownedBuckets(env, ctx)) {
        const s3 = await env.clients(bucket.region).s3();
        let keyMarker: string | undefined;
        let uploadIdMarker: string | undefined;
        for (;;) {
          const page = await awsCall('ListMultipartUploads', () =>
            s3.send(
              new ListMultipartUploadsCommand({
                Bucket: bucket.name,
                MaxUploads: 1000,
                ...(keyMarker !== undefined ? { KeyMarker: keyMarker } : {}),
                ...(uploadIdMarker !== undefined ? { UploadIdMarker: uploadIdMarker } : {}),
              }),
              { abortSignal: ctx.signal },
            ),
          );
          for (const u of page.Uploads ?? []) {
            if (u.Key === undefined || !u.UploadId) continue;
            yield {
              kind: multipartUploadKind,
              id: `${bucket.name}/${u.Key}#${u.UploadId}`,
              name: `s3://${bucket.name}/${u.Key}`,
              location: bucket.region,
              ...(u.Initiated ? { createdAt: new Date(u.Initiated) } : {}),
              tags: bucket.tags,
              bucket: bucket.name,
              key: u.Key,
              uploadId: u.UploadId,
            };
          }
          if (!page.IsTruncated) break;
          keyMarker = page.NextKeyMarker;
          uploadIdMarker = page.NextUploadIdMarker;
        }
      }
    },
    async remove(resource, ctx) {
      const { AbortMultipartUploadCommand } = await import('@aws-sdk/client-s3');
      const s3 = await env.clients(resource.location ?? '').s3();
      try {
        await awsCall('AbortMultipartUpload', () =>
          s3.send(
            new AbortMultipartUploadCommand({
              Bucket: resource.bucket,
              Key: resource.key,
              UploadId: resource.uploadId,
            }),
            { abortSignal: ctx.signal },
          ),
        );
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    },
  };
}
