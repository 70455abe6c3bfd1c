import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { type Logger, retry, throwIfAborted } from '@mantle/cluster';
import type { AwsClients } from '../api/clients.js';
import {
  abortMultipartUpload,
  completeMultipartUpload,
  createMultipartUpload,
  findMultipartUpload,
  listParts,
  uploadPart,
} from '../api/s3.js';
import { isRetryableUploadError, readFully } from './blocks.js';

const MiB = 1024 * 1024;
/** S3 allows at most 10,000 parts; parts other than the last are at least 5 MiB. */
const maxParts = 10_000;
/** Part buffers held at once never exceed this, whatever --parallel says. */
const maxBufferBytes = 128 * MiB;

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
 * checked by S3 against its checksum (the SDK's CRC32) and retried on its own. An unfinished upload of the same key
 * is resumed: its parts whose size and ETag (the part's MD5) match the file are not sent again. A
 * failed upload is left for the next run to resume (gc removes it after its grace period).
 */
export async function multipartUpload(input: MultipartInput): Promise<MultipartResult> {
  const { clients, bucket, key, size, signal } = input;
  const partSize = input.partSize ?? partSizeFor(size);
  const partCount = Math.max(1, Math.ceil(size / partSize));
  const parallel = Math.max(1, Math.min(input.parallel, Math.floor(maxBufferBytes / partSize)));

  let uploadId = await findMultipartUpload(clients, bucket, key, signal);
  const existing = new Map<number, { etag: string; size: number }>();
  if (uploadId) {
    const parts = await listParts(clients, bucket, key, uploadId, signal);
    const compatible = parts.every(
      (p) => p.partNumber <= partCount && p.size === Math.min(partSize, size - (p.partNumber - 1) * partSize),
    );
    if (compatible) {
      for (const p of parts) existing.set(p.partNumber, { etag: p.etag, size: p.size });
      input.log.info(`resuming multipart upload of s3://${bucket}/${key}`, {
        uploadId,
        partsInS3: parts.length,
      });
    } else {
      input.log.info(`discarding an unfinished upload of s3://${bucket}/${key} with other part sizes`, {
        uploadId,
      });
      await abortMultipartUpload(clients, { bucket, key, uploadId }, signal);
      uploadId = undefined;
    }
  }
  uploadId ??= await createMultipartUpload(clients, bucket, key, signal);
  const id = uploadId;

  const free: Buffer[] = Array.from({ length: parallel }, () => Buffer.allocUnsafe(partSize));
  const etags = new Map<number, string>();
  const inner = new AbortController();
  const onAbort = () => inner.abort(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  const inflight = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  let bytesSent = 0;
  let partsReused = 0;
  const handle = await open(input.path, 'r');
  try {
    for (let n = 1; n <= partCount && !failure; n++) {
      throwIfAborted(signal, 'uploading to S3');
      while (free.length === 0) await Promise.race(inflight);
      if (failure) break;
      const buffer = free.pop()!;
      const position = (n - 1) * partSize;
      const length = Math.min(partSize, size - position);
      await readFully(handle, buffer, length, position);
      const body = buffer.subarray(0, length);
      // MD5 only to recognise a part already in S3 (its ETag); new parts carry the SDK's CRC32,
      // which S3 checks, and hashing every part twice costs CPU the upload needs.
      const already = existing.get(n);
      if (
        already &&
        already.size === length &&
        already.etag.replace(/"/g, '') === createHash('md5').update(body).digest('hex')
      ) {
        etags.set(n, already.etag);
        partsReused++;
        free.push(buffer);
        input.onProgress?.(length);
        continue;
      }
      const partNumber = n;
      const sent: Promise<void> = retry(
        () => uploadPart(clients, { bucket, key, uploadId: id, partNumber, body }, inner.signal),
        { attempts: 4, initialDelayMs: 500, retryable: isRetryableUploadError, signal: inner.signal },
      )
        .then(
          (etag) => {
            etags.set(partNumber, etag);
            bytesSent += length;
            input.onProgress?.(length);
          },
          (error: unknown) => {
            failure ??= { error };
            inner.abort(error);
          },
        )
        .finally(() => {
          free.push(buffer);
          inflight.delete(sent);
        });
      inflight.add(sent);
    }
    await Promise.all(inflight);
  } finally {
    signal.removeEventListener('abort', onAbort);
    await handle.close();
  }
  if (failure) throw failure.error;
  throwIfAborted(signal, 'uploading to S3');
  await completeMultipartUpload(
    clients,
    {
      bucket,
      key,
      uploadId: id,
      parts: [...etags.entries()]
        .sort(([a], [b]) => a - b)
        .map(([partNumber, etag]) => ({ partNumber, etag })),
    },
    signal,
  );
  return { parts: partCount, partsReused, bytesSent };
}
