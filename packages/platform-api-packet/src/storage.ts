import { randomBytes } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import { errorMessage, PlatformApiError, UsageError } from '@mantle/cluster';
import type { PacketOptions } from './options.js';

/**
 * Where the device fetches its installer config and iPXE script: an S3 bucket, each object behind a
 * presigned GET over plain http (iPXE has no https). Objects are `<prefix><hostname>-<10 hex>`, as
 * mantle named them; GC finds the ones an interrupted run left by that prefix and their age. The
 * client is made only by the verbs that stage (kola's flight, create-device, gc): mantle opened
 * Google Storage (with an interactive OAuth) even for list-keys.
 */

export interface StorageLocation {
  bucket: string;
  /** `kola/` (ends with `/` unless empty). */
  prefix: string;
}

export function storageLocation(o: PacketOptions, why: string): StorageLocation {
  if (!o.storageUrl) throw new UsageError(`${why} needs --packet-storage-url s3://bucket/prefix`);
  const m = /^(s3|gs):\/\/([^/]+)\/?(.*)$/.exec(o.storageUrl)!;
  if (m[1] === 'gs')
    throw new UsageError(
      `--packet-storage-url ${o.storageUrl}: gs:// is not supported yet; stage in S3 (s3://bucket/prefix)`,
    );
  const prefix = m[3] ? (m[3].endsWith('/') ? m[3] : `${m[3]}/`) : '';
  return { bucket: m[2]!, prefix };
}

export interface StagedObject {
  key: string;
  lastModified?: Date;
}

const s3Error = (operation: string, e: unknown) =>
  new PlatformApiError(
    {
      platform: 'packet',
      operation: `storage ${operation}`,
      ...((e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode
        ? { status: (e as { $metadata: { httpStatusCode: number } }).$metadata.httpStatusCode }
        : {}),
    },
    errorMessage(e),
  );

export class Storage {
  private constructor(
    private readonly s3: S3Client,
    private readonly sdk: typeof import('@aws-sdk/client-s3'),
    readonly location: StorageLocation,
  ) {}

  static async open(o: PacketOptions, why: string): Promise<Storage> {
    const location = storageLocation(o, why);
    const sdk = await import('@aws-sdk/client-s3');
    const s3 = new sdk.S3Client({
      region: o.storageRegion,
      ...(o.storageEndpoint ? { endpoint: o.storageEndpoint, forcePathStyle: true } : {}),
      maxAttempts: 6,
    });
    return new Storage(s3, sdk, location);
  }

  /** `<prefix><hostname>-<10 hex>` */
  objectKey(hostname: string): string {
    return `${this.location.prefix}${hostname}-${randomBytes(5).toString('hex')}`;
  }

  /** Puts the object; its presigned http GET URL (valid for an hour: the install fetches it early). */
  async put(key: string, body: string, contentType: string, signal: AbortSignal): Promise<string> {
    const { PutObjectCommand, GetObjectCommand } = this.sdk;
    try {
      await this.s3.send(
        new PutObjectCommand({
          Bucket: this.location.bucket,
          Key: key,
          Body: body,
          ContentType: contentType,
        }),
        { abortSignal: signal },
      );
    } catch (e) {
      throw s3Error('put', e);
    }
    const { getSignedUrl } = await import('@aws-sdk/s3-request-presigner');
    const url = await getSignedUrl(
      this.s3,
      new GetObjectCommand({ Bucket: this.location.bucket, Key: key }),
      {
        expiresIn: 3600,
      },
    );
    // the signature does not cover the scheme; iPXE needs plain http
    return url.replace(/^https:/, 'http:');
  }

  async delete(key: string, signal: AbortSignal): Promise<void> {
    try {
      await this.s3.send(new this.sdk.DeleteObjectCommand({ Bucket: this.location.bucket, Key: key }), {
        abortSignal: signal,
      });
    } catch (e) {
      throw s3Error('delete', e);
    }
  }

  async *list(signal: AbortSignal): AsyncGenerator<StagedObject> {
    let token: string | undefined;
    do {
      let page: import('@aws-sdk/client-s3').ListObjectsV2CommandOutput;
      try {
        page = await this.s3.send(
          new this.sdk.ListObjectsV2Command({
            Bucket: this.location.bucket,
            Prefix: this.location.prefix,
            ...(token ? { ContinuationToken: token } : {}),
          }),
          { abortSignal: signal },
        );
      } catch (e) {
        throw s3Error('list', e);
      }
      for (const o of page.Contents ?? [])
        if (o.Key) yield { key: o.Key, ...(o.LastModified ? { lastModified: o.LastModified } : {}) };
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  close(): void {
    this.s3.destroy();
  }
}
