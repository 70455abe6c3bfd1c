import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { PlatformApiError, retry, throwIfAborted } from '@mantle/cluster';

export interface BlockUploadInput {
  path: string;
  /** Bytes of the file to send (the image size). */
  size: number;
  blockSize: number;
  /** Blocks in flight at once; also the number of block buffers held. */
  parallel: number;
  /** Sends one block; `checksum` is its base64 SHA-256. Retried on errors that are not 4xx. */
  put(index: number, data: Buffer, checksum: string, signal: AbortSignal): Promise<void>;
  /** Bytes of the image dealt with (sent or found all zero). */
  onProgress?(bytes: number): void;
  signal: AbortSignal;
}

export interface BlockUploadResult {
  totalBlocks: number;
  /** Blocks sent (the ones not all zero). */
  blocksWritten: number;
  bytesSent: number;
  /** LINEAR aggregate: base64 SHA-256 over the written blocks' raw SHA-256 digests in index order. */
  checksum: string;
}

/** 4xx answers other than throttling will not get better by asking again. */
export function isRetryableUploadError(e: unknown): boolean {
  if (e instanceof PlatformApiError) {
    const status = e.details.status;
    return status === undefined || status >= 500 || status === 429;
  }
  return !(e instanceof Error && (e.name === 'AbortError' || e.name === 'AbortedError'));
}

/** Reads exactly `length` bytes at `position` (short reads happen on some file systems). */
export async function readFully(
  handle: Awaited<ReturnType<typeof open>>,
  buffer: Buffer,
  length: number,
  position: number,
): Promise<void> {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(buffer, done, length - done, position + done);
    if (bytesRead === 0) throw new Error(`unexpected end of file at byte ${position + done}`);
    done += bytesRead;
  }
}

/**
 * Streams a raw image block by block, skips blocks that are all zero (a snapshot reads unwritten
 * blocks as zero) and sends the others in parallel. Memory is `parallel` blocks, whatever the size.
 */
export async function uploadNonZeroBlocks(input: BlockUploadInput): Promise<BlockUploadResult> {
  const { blockSize, size } = input;
  const totalBlocks = Math.ceil(size / blockSize);
  const zero = Buffer.alloc(blockSize);
  const free: Buffer[] = Array.from({ length: Math.max(1, input.parallel) }, () =>
    Buffer.allocUnsafe(blockSize),
  );
  const digests = new Map<number, Buffer>();
  const inner = new AbortController();
  const onAbort = () => inner.abort(input.signal.reason);
  input.signal.addEventListener('abort', onAbort, { once: true });
  const inflight = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  let bytesSent = 0;
  const handle = await open(input.path, 'r');
  try {
    for (let index = 0; index < totalBlocks && !failure; index++) {
      throwIfAborted(input.signal, 'uploading blocks');
      while (free.length === 0) await Promise.race(inflight);
      if (failure) break;
      const buffer = free.pop()!;
      const position = index * blockSize;
      const length = Math.min(blockSize, size - position);
      await readFully(handle, buffer, length, position);
      if (length < blockSize) buffer.fill(0, length);
      if (buffer.equals(zero)) {
        free.push(buffer);
        input.onProgress?.(length);
        continue;
      }
      const digest = createHash('sha256').update(buffer).digest();
      digests.set(index, digest);
      const checksum = digest.toString('base64');
      const sent: Promise<void> = retry(() => input.put(index, buffer, checksum, inner.signal), {
        attempts: 3,
        initialDelayMs: 500,
        retryable: isRetryableUploadError,
        signal: inner.signal,
      })
        .then(
          () => {
            bytesSent += blockSize;
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
    input.signal.removeEventListener('abort', onAbort);
    await handle.close();
  }
  if (failure) throw failure.error;
  throwIfAborted(input.signal, 'uploading blocks');
  const linear = createHash('sha256');
  for (const index of [...digests.keys()].sort((a, b) => a - b)) linear.update(digests.get(index)!);
  return { totalBlocks, blocksWritten: digests.size, bytesSent, checksum: linear.digest('base64') };
}
