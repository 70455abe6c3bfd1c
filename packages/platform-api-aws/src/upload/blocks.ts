import { createHash } from 'node:crypto';
import { retry } from '@mantle/cluster';
import { fileSource, isRetryableUploadError, sendChunks } from './chunks.js';

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

/**
 * Streams a raw image block by block, skips blocks that are all zero (a snapshot reads unwritten
 * blocks as zero) and sends the others in parallel. Memory is `parallel` blocks, whatever the size.
 */
export async function uploadNonZeroBlocks(input: BlockUploadInput): Promise<BlockUploadResult> {
  const { blockSize, size } = input;
  const totalBlocks = Math.ceil(size / blockSize);
  const zero = Buffer.alloc(blockSize);
  const digests = new Map<number, Buffer>();
  let bytesSent = 0;
  await sendChunks({
    source: await fileSource(input.path, size, blockSize),
    chunkSize: blockSize,
    parallel: input.parallel,
    signal: input.signal,
    phase: 'uploading blocks',
    each: ({ index, length, buffer }) => {
      if (length < blockSize) buffer.fill(0, length);
      if (buffer.equals(zero)) {
        input.onProgress?.(length);
        return undefined;
      }
      const digest = createHash('sha256').update(buffer).digest();
      digests.set(index, digest);
      const checksum = digest.toString('base64');
      return async (signal) => {
        await retry(() => input.put(index, buffer, checksum, signal), {
          attempts: 3,
          initialDelayMs: 500,
          retryable: isRetryableUploadError,
          signal,
        });
        bytesSent += blockSize;
        input.onProgress?.(length);
      };
    },
  });
  const linear = createHash('sha256');
  for (const index of [...digests.keys()].sort((a, b) => a - b)) linear.update(digests.get(index)!);
  return { totalBlocks, blocksWritten: digests.size, bytesSent, checksum: linear.digest('base64') };
}
