import { randomBytes } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { basename } from 'node:path';
import { Transform } from 'node:stream';
import type { ListObjectsV2CommandOutput, S3Client } from '@aws-sdk/client-s3';
import { errorMessage, PlatformApiError, UsageError } from '@mantle/cluster';
import { type DoOptions, spacesLocation } from './options.js';

/**
 * Spaces, DigitalOcean's S3, where `ore do create-image --file` stages an image behind a presigned
 * GET URL for DigitalOcean to fetch. Path-style requests (Spaces accepts them; emulators need them).
 * Staged objects live under `mantle-staging/`, the mark by which GC knows them (Spaces has no
 * object tags worth relying on); create-image deletes its object once the image is available.
 */

export const stagingPrefix = 'mantle-staging/';

/** Spaces' single PUT limit; larger images must be given by --url. */
export const maxStagedBytes = 5 * 1024 ** 3;

export interface SpacesSettings {
  endpoint: string;
  region: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
}

/** The Spaces settings the options give, or undefined with the reason when some are missing. */
export function spacesSettingsOf(o: DoOptions): { settings?: SpacesSettings; missing: string[] } {
  const missing = [
    o.spacesBucket ? undefined : '--do-spaces-bucket',
    o.spacesAccessKeyId ? undefined : '$SPACES_ACCESS_KEY_ID',
    o.spacesSecretAccessKey ? undefined : '$SPACES_SECRET_ACCESS_KEY',
  ].filter((m): m is string => m !== undefined);
  if (missing.length) return { missing };
  const { region, endpoint } = spacesLocation(o);
  return {
    settings: {
      endpoint,
      region,
      bucket: o.spacesBucket!,
      accessKeyId: o.spacesAccessKeyId!,
      secretAccessKey: o.spacesSecretAccessKey!,
    },
    missing,
  };
}

export function requireSpaces(o: DoOptions, why: string): SpacesSettings {
  const { settings, missing } = spacesSettingsOf(o);
  if (!settings) throw new UsageError(`${why} needs Spaces: give ${missing.join(', ')}`);
  return settings;
}

/** The key a staged image gets: `mantle-staging/<name>-<hex>/<file name>` (the extension kept). */
export function stagingKey(imageName: string, file: string): string {
  const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]/g, '_');
  return `${stagingPrefix}${safe(imageName)}-${randomBytes(4).toString('hex')}/${safe(basename(file))}`;
}

export interface StagedObject {
  bucket: string;
  key: string;
  size: number;
  lastModified?: Date;
}

function spacesError(operation: string, e: unknown): PlatformApiError {
  const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const code = (e as { name?: string }).name;
  return new PlatformApiError(
    {
      platform: 'do',
      operation: `spaces ${operation}`,
      ...(status !== undefined ? { status } : {}),
      ...(code ? { providerCode: code } : {}),
    },
    errorMessage(e),
  );
}

export class Spaces {
  private constructor(
    readonly settings: SpacesSettings,
    private readonly s3: S3Client,
  ) {}

  static async open(settings: SpacesSettings): Promise<Spaces> {
    const { S3Client } = await import('@aws-sdk/client-s3');
    const s3 = new S3Client({
      endpoint: settings.endpoint,
      region: settings.region,
      forcePathStyle: true,
      credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey },
      maxAttempts: 5,
    });
    return new Spaces(settings, s3);
  }

  /** Uploads `file` to `key` in one PUT, reporting bytes as they go. */
  async put(
    key: string,
    file: string,
    o: { signal: AbortSignal; onBytes?: (n: number) => void },
  ): Promise<number> {
    const size = statSync(file).size;
    if (size > maxStagedBytes)
      throw new UsageError(
        `--file ${file}: ${size} bytes is more than Spaces takes in one upload; serve it and give --url`,
      );
    const { PutObjectCommand } = await import('@aws-sdk/client-s3');
    const counted = createReadStream(file).pipe(
      new Transform({
        transform(chunk: Buffer, _enc, done) {
          o.onBytes?.(chunk.length);
          done(null, chunk);
        },
      }),
    );
    try {
      await this.s3.send(
        new PutObjectCommand({
          Bucket: this.settings.bucket,
          Key: key,
          Body: counted,
          ContentLength: size,
          ContentType: 'application/octet-stream',
          Metadata: { 'created-by': 'mantle' },
        }),
        { abortSignal: o.signal },
      );
    } catch (e) {
      counted.destroy();
      throw spacesError('PutObject', e);
    }
    return size;
  }

  /** A GET URL DigitalOcean can fetch without credentials, valid for `seconds`. */
  async presignGet(key: string, seconds: number): Promise<string> {
    const [{ GetObjectCommand }, { getSignedUrl }] = await Promise.all([
      import('@aws-sdk/client-s3'),
      import('@aws-sdk/s3-request-presigner'),
    ]);
    return getSignedUrl(this.s3, new GetObjectCommand({ Bucket: this.settings.bucket, Key: key }), {
      expiresIn: seconds,
    });
  }

  /** Deletes the object; already gone is success (S3 says so too). */
  async delete(key: string, signal: AbortSignal): Promise<void> {
    const { DeleteObjectCommand } = await import('@aws-sdk/client-s3');
    try {
      await this.s3.send(new DeleteObjectCommand({ Bucket: this.settings.bucket, Key: key }), {
        abortSignal: signal,
      });
    } catch (e) {
      if ((e as { name?: string }).name === 'NoSuchKey') return;
      throw spacesError('DeleteObject', e);
    }
  }

  /** Every object under `prefix`, all pages. */
  async *list(prefix: string, signal: AbortSignal): AsyncGenerator<StagedObject> {
    const { ListObjectsV2Command } = await import('@aws-sdk/client-s3');
    let token: string | undefined;
    do {
      let page: ListObjectsV2CommandOutput;
      try {
        page = await this.s3.send(
          new ListObjectsV2Command({
            Bucket: this.settings.bucket,
            Prefix: prefix,
            ...(token ? { ContinuationToken: token } : {}),
          }),
          { abortSignal: signal },
        );
      } catch (e) {
        throw spacesError('ListObjectsV2', e);
      }
      for (const o of page.Contents ?? [])
        if (o.Key !== undefined)
          yield {
            bucket: this.settings.bucket,
            key: o.Key,
            size: o.Size ?? 0,
            ...(o.LastModified ? { lastModified: new Date(o.LastModified) } : {}),
          };
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  close(): void {
    this.s3.destroy();
  }
}
