import {
  AbortMultipartUploadCommand,
  type BucketLocationConstraint,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetBucketTaggingCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  PutBucketTaggingCommand,
  PutPublicAccessBlockCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { AwsClients } from './clients.js';
import { awsApiError, awsCall, awsErrorCode, isNotFound } from './errors.js';

/** `created` when this call made it; `owned` when it already existed in this account. */
export async function createBucket(
  clients: AwsClients,
  bucket: string,
  signal: AbortSignal,
): Promise<'created' | 'owned'> {
  const s3 = await clients.s3();
  try {
    await s3.send(
      new CreateBucketCommand({
        Bucket: bucket,
        // us-east-1 is the one region that refuses its own name as a location constraint.
        ...(clients.region === 'us-east-1'
          ? {}
          : {
              CreateBucketConfiguration: { LocationConstraint: clients.region as BucketLocationConstraint },
            }),
      }),
      { abortSignal: signal },
    );
    return 'created';
  } catch (e) {
    if (awsErrorCode(e) === 'BucketAlreadyOwnedByYou') return 'owned';
    throw awsApiError(e, 'CreateBucket');
  }
}

export async function getBucketTags(
  clients: AwsClients,
  bucket: string,
  signal: AbortSignal,
): Promise<Record<string, string>> {
  const s3 = await clients.s3();
  try {
    const out = await s3.send(new GetBucketTaggingCommand({ Bucket: bucket }), { abortSignal: signal });
    return Object.fromEntries((out.TagSet ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
  } catch (e) {
    if (awsErrorCode(e) === 'NoSuchTagSet' || awsErrorCode(e) === 'NoSuchTagSetError') return {};
    throw awsApiError(e, 'GetBucketTagging');
  }
}

export async function putBucketTags(
  clients: AwsClients,
  bucket: string,
  tags: Record<string, string>,
  signal: AbortSignal,
): Promise<void> {
  const s3 = await clients.s3();
  await awsCall('PutBucketTagging', () =>
    s3.send(
      new PutBucketTaggingCommand({
        Bucket: bucket,
        Tagging: { TagSet: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) },
      }),
      { abortSignal: signal },
    ),
  );
}

/** Image staging buckets are never public. */
export async function blockPublicAccess(
  clients: AwsClients,
  bucket: string,
  signal: AbortSignal,
): Promise<void> {
  const s3 = await clients.s3();
  await awsCall('PutPublicAccessBlock', () =>
    s3.send(
      new PutPublicAccessBlockCommand({
        Bucket: bucket,
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          IgnorePublicAcls: true,
          BlockPublicPolicy: true,
          RestrictPublicBuckets: true,
        },
      }),
      { abortSignal: signal },
    ),
  );
}

export async function headObject(
  clients: AwsClients,
  bucket: string,
  key: string,
  signal: AbortSignal,
): Promise<{ size: number; etag?: string } | undefined> {
  const s3 = await clients.s3();
  try {
    const out = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal });
    return { size: out.ContentLength ?? 0, ...(out.ETag ? { etag: out.ETag } : {}) };
  } catch (e) {
    // HEAD answers carry no error body, so a missing object is a bare 404 ("NotFound").
    const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status === 404 || isNotFound(e)) return undefined;
    throw awsApiError(e, 'HeadObject');
  }
}

export async function deleteObject(clients: AwsClients, bucket: string, key: string, signal: AbortSignal) {
  const s3 = await clients.s3();
  await awsCall('DeleteObject', () =>
    s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal }),
  );
}

export interface UnfinishedUpload {
  id: string;
  /** The checksum algorithm it was created with (its parts carry that checksum), if any. */
  checksumAlgorithm?: string;
}

/** The newest unfinished multipart upload of exactly `key`, if any. */
export async function findMultipartUpload(
  clients: AwsClients,
  bucket: string,
  key: string,
  signal: AbortSignal,
): Promise<UnfinishedUpload | undefined> {
  const s3 = await clients.s3();
  let best: { upload: UnfinishedUpload; initiated: number } | undefined;
  let keyMarker: string | undefined;
  let uploadIdMarker: string | undefined;
  for (;;) {
    const out = await awsCall('ListMultipartUploads', () =>
      s3.send(
        new ListMultipartUploadsCommand({
          Bucket: bucket,
          Prefix: key,
          ...(keyMarker ? { KeyMarker: keyMarker } : {}),
          ...(uploadIdMarker ? { UploadIdMarker: uploadIdMarker } : {}),
        }),
        { abortSignal: signal },
      ),
    );
    for (const u of out.Uploads ?? []) {
      if (u.Key !== key || !u.UploadId) continue;
      const initiated = u.Initiated?.getTime() ?? 0;
      if (!best || initiated > best.initiated)
        best = {
          upload: {
            id: u.UploadId,
            ...(u.ChecksumAlgorithm ? { checksumAlgorithm: u.ChecksumAlgorithm } : {}),
          },
          initiated,
        };
    }
    if (!out.IsTruncated) return best?.upload;
    keyMarker = out.NextKeyMarker;
    uploadIdMarker = out.NextUploadIdMarker;
  }
}

export interface UploadedPart {
  partNumber: number;
  etag: string;
  size: number;
  /** The part's CRC32 (base64) as S3 checked it; CompleteMultipartUpload must repeat it. */
  checksumCrc32?: string;
}

export async function listParts(
  clients: AwsClients,
  bucket: string,
  key: string,
  uploadId: string,
  signal: AbortSignal,
): Promise<UploadedPart[]> {
  const s3 = await clients.s3();
  const parts: UploadedPart[] = [];
  let marker: string | undefined;
  for (;;) {
    const out = await awsCall('ListParts', () =>
      s3.send(
        new ListPartsCommand({
          Bucket: bucket,
          Key: key,
          UploadId: uploadId,
          ...(marker ? { PartNumberMarker: marker } : {}),
        }),
        { abortSignal: signal },
      ),
    );
    for (const p of out.Parts ?? [])
      if (p.PartNumber && p.ETag)
        parts.push({
          partNumber: p.PartNumber,
          etag: p.ETag,
          size: p.Size ?? 0,
          ...(p.ChecksumCRC32 ? { checksumCrc32: p.ChecksumCRC32 } : {}),
        });
    if (!out.IsTruncated || !out.NextPartNumberMarker) return parts;
    marker = out.NextPartNumberMarker;
  }
}

/**
 * The checksum of every multipart upload: each part carries its CRC32, which S3 checks on arrival,
 * and the object's checksum is the composite of those. Without one, S3 (and moto) computes a
 * full-object CRC64NVME at completion, re-reading the whole object; boto3's upload_file avoids
 * that the same way.
 */
export const multipartChecksumAlgorithm = 'CRC32';

export async function createMultipartUpload(
  clients: AwsClients,
  bucket: string,
  key: string,
  signal: AbortSignal,
): Promise<string> {
  const s3 = await clients.s3();
  const out = await awsCall('CreateMultipartUpload', () =>
    s3.send(
      new CreateMultipartUploadCommand({
        Bucket: bucket,
        Key: key,
        ChecksumAlgorithm: multipartChecksumAlgorithm,
      }),
      { abortSignal: signal },
    ),
  );
  if (!out.UploadId) throw new Error('CreateMultipartUpload returned no upload id');
  return out.UploadId;
}

/** Uploads one part with its CRC32, which S3 checks (`md5` adds Content-MD5); returns its ETag and CRC32. */
export async function uploadPart(
  clients: AwsClients,
  input: {
    bucket: string;
    key: string;
    uploadId: string;
    partNumber: number;
    body: Uint8Array;
    md5?: string;
  },
  signal: AbortSignal,
): Promise<{ etag: string; checksumCrc32?: string }> {
  const s3 = await clients.s3();
  const out = await awsCall('UploadPart', () =>
    s3.send(
      new UploadPartCommand({
        Bucket: input.bucket,
        Key: input.key,
        UploadId: input.uploadId,
        PartNumber: input.partNumber,
        Body: input.body,
        ContentLength: input.body.length,
        ChecksumAlgorithm: multipartChecksumAlgorithm,
        ...(input.md5 ? { ContentMD5: input.md5 } : {}),
      }),
      { abortSignal: signal },
    ),
  );
  if (!out.ETag) throw new Error(`UploadPart ${input.partNumber} returned no ETag`);
  return { etag: out.ETag, ...(out.ChecksumCRC32 ? { checksumCrc32: out.ChecksumCRC32 } : {}) };
}

export async function completeMultipartUpload(
  clients: AwsClients,
  input: {
    bucket: string;
    key: string;
    uploadId: string;
    parts: Array<{ partNumber: number; etag: string; checksumCrc32?: string }>;
  },
  signal: AbortSignal,
): Promise<void> {
  const s3 = await clients.s3();
  await awsCall('CompleteMultipartUpload', () =>
    s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: input.bucket,
        Key: input.key,
        UploadId: input.uploadId,
        MultipartUpload: {
          Parts: input.parts.map((p) => ({
            PartNumber: p.partNumber,
            ETag: p.etag,
            ...(p.checksumCrc32 ? { ChecksumCRC32: p.checksumCrc32 } : {}),
          })),
        },
      }),
      { abortSignal: signal },
    ),
  );
}

export async function abortMultipartUpload(
  clients: AwsClients,
  input: { bucket: string; key: string; uploadId: string },
  signal: AbortSignal,
): Promise<void> {
  const s3 = await clients.s3();
  try {
    await awsCall('AbortMultipartUpload', () =>
      s3.send(
        new AbortMultipartUploadCommand({ Bucket: input.bucket, Key: input.key, UploadId: input.uploadId }),
        { abortSignal: signal },
      ),
    );
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
}
