import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { type Logger, retry } from '@mantle/cluster';
import type { AwsClients } from '../api/clients.js';
import {
  abortMultipartUpload,
  completeMultipartUpload,
  createMultipartUpload,
  findMultipartUpload,
  listParts,
  multipartChecksumAlgorithm,
  type UploadedPart,
  uploadPart,
} from '../api/s3.js';
import { isRetryableUploadError, sendChunks } from './chunks.js';

const MiB = 1024 * 1024;
/** S3 allows at most 10,000 parts; parts other than the last are at least 5 MiB. */
const maxParts = 10_000;
/** Part buffers held at once never exceed this, whatever --parallel says. */
const maxBufferBytes = 128 * MiB;

/** A part's CRC32 as S3 spells it: the 4 bytes big-endian, in base64. */
export function crc32Base64(data: Uint8Array): string {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(crc32(data));
  return out.toString('base64');
}

export function partSizeFor(size: number, minimum = 8 * MiB): number {
  return Math.max(minimum, Math.ceil(size / maxParts / MiB) * MiB);
}

export interface MultipartInput {
  clients: AwsClients;
  bucket: string;
  key: string;
  path: string;
  size: number;
  parallel: number;
  partSize?: number;
  onProgress?(bytes: number): void;
  log: Logger;
  signal: AbortSignal;
}

export interface MultipartResult {
  parts: number;
  /** Parts already in S3 from an earlier, interrupted upload with the same content. */
  partsReused: number;
  bytesSent: number;
}

/**
 * Multipart upload of a file, `parallel` parts at a time, each part read into a reused buffer,
 * checked by S3 against its CRC32 and retried on its own. An unfinished upload of the same key
 * is resumed: its parts whose size and ETag (the part's MD5) match the file are not sent again. A
 * failed upload is left for the next run to resume (gc removes it after its grace period).
 */
export async function multipartUpload(input: MultipartInput): Promise<MultipartResult> {
  const { clients, bucket, key, size, signal } = input;
  const partSize = input.partSize ?? partSizeFor(size);
  const partCount = Math.max(1, Math.ceil(size / partSize));
  const parallel = Math.max(1, Math.min(input.parallel, Math.floor(maxBufferBytes / partSize)));

  const unfinished = await findMultipartUpload(clients, bucket, key, signal);
  let uploadId = unfinished?.id;
  const existing = new Map<number, UploadedPart>();
  if (uploadId) {
    const parts = await listParts(clients, bucket, key, uploadId, signal);
    // (an upload made without our checksum cannot be completed with one: start again)
    const compatible =
      unfinished?.checksumAlgorithm === multipartChecksumAlgorithm &&
      parts.every(
        (p) =>
          p.partNumber <= partCount && p.size === Math.min(partSize, size - (p.partNumber - 1) * partSize),
      );
    if (compatible) {
      for (const p of parts) existing.set(p.partNumber, p);
      input.log.info(`resuming multipart upload of s3://${bucket}/${key}`, {
        uploadId,
        partsInS3: parts.length,
      });
    } else {
      input.log.info(`discarding an unfinished upload of s3://${bucket}/${key} with other parts`, {
        uploadId,
      });
      await abortMultipartUpload(clients, { bucket, key, uploadId }, signal);
      uploadId = undefined;
    }
  }
  uploadId ??= await createMultipartUpload(clients, bucket, key, signal);
  const id = uploadId;

  const done = new Map<number, { etag: string; checksumCrc32?: string }>();
  let bytesSent = 0;
  let partsReused = 0;
  await sendChunks({
    path: input.path,
    size,
    chunkSize: partSize,
    parallel,
    signal,
    phase: 'uploading to S3',
    each: ({ index, length, buffer }) => {
      const partNumber = index + 1;
      const body = buffer.subarray(0, length);
      // MD5 only to recognise a part already in S3 (its ETag); new parts carry a CRC32,
      // which S3 checks, and hashing every part twice costs CPU the upload needs.
      const already = existing.get(partNumber);
      if (
        already &&
        already.size === length &&
        already.etag.replace(/"/g, '') === createHash('md5').update(body).digest('hex')
      ) {
        // the same bytes (their MD5 is the ETag), so their CRC32 is ours when S3 does not list it
        done.set(partNumber, {
          etag: already.etag,
          checksumCrc32: already.checksumCrc32 ?? crc32Base64(body),
        });
        partsReused++;
        input.onProgress?.(length);
        return undefined;
      }
      return async (inner) => {
        const uploaded = await retry(
          () => uploadPart(clients, { bucket, key, uploadId: id, partNumber, body }, inner),
          { attempts: 4, initialDelayMs: 500, retryable: isRetryableUploadError, signal: inner },
        );
        done.set(partNumber, uploaded);
        bytesSent += length;
        input.onProgress?.(length);
      };
    },
  });
  await completeMultipartUpload(
    clients,
    {
      bucket,
      key,
      uploadId: id,
      parts: [...done.entries()]
        .sort(([a], [b]) => a - b)
        .map(([partNumber, part]) => ({ partNumber, ...part })),
    },
    signal,
  );
  return { parts: partCount, partsReused, bytesSent };
}
