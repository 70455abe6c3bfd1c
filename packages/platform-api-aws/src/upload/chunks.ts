import { open } from 'node:fs/promises';
import { PlatformApiError, throwIfAborted } from '@mantle/cluster';

/** One chunk of the file, read into a buffer of the pool (`buffer` is `chunkSize` long). */
export interface Chunk {
  index: number;
  /** Bytes of the file in this chunk (less than chunkSize only for the last one). */
  length: number;
  buffer: Buffer;
}

export interface ChunkPipelineInput {
  path: string;
  /** Bytes of the file to read. */
  size: number;
  chunkSize: number;
  /** Chunks in flight at once; also the number of chunk buffers held. */
  parallel: number;
  signal: AbortSignal;
  /** What the pipeline does, for the abort error ("uploading to S3"). */
  phase: string;
  /**
   * Called for every chunk in order. Returns how to send it, or undefined when it needs no sending
   * (its buffer is reused at once). The sender owns the buffer until it settles.
   */
  each(chunk: Chunk): ((signal: AbortSignal) => Promise<void>) | undefined;
}

/** 4xx answers other than throttling will not get better by asking again. */
export function isRetryableUploadError(e: unknown): boolean {
  if (e instanceof PlatformApiError) {
    const status = e.details.status;
    return status === undefined || status >= 500 || status === 429;
  }
  return !(e instanceof Error && (e.name === 'AbortError' || e.name === 'AbortedError'));
}

/**
 * Reads a file chunk by chunk into `parallel` reused buffers and sends up to `parallel` chunks at
 * once. The first failed send aborts the others and is thrown once they have settled; nothing new
 * starts after it. Memory is `parallel` chunks, whatever the file's size.
 */
export async function sendChunks(input: ChunkPipelineInput): Promise<void> {
  const { chunkSize, size, signal } = input;
  const count = Math.max(1, Math.ceil(size / chunkSize));
  const free: Buffer[] = Array.from({ length: Math.max(1, input.parallel) }, () =>
    Buffer.allocUnsafe(chunkSize),
  );
  const inner = new AbortController();
  const onAbort = () => inner.abort(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  const inflight = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  const handle = await open(input.path, 'r');
  try {
    for (let index = 0; index < count && !failure; index++) {
      throwIfAborted(signal, input.phase);
      while (free.length === 0) await Promise.race(inflight);
      if (failure) break;
      const buffer = free.pop()!;
      const position = index * chunkSize;
      const length = Math.min(chunkSize, size - position);
      await readFully(handle, buffer, length, position);
      const send = input.each({ index, length, buffer });
      if (!send) {
        free.push(buffer);
        continue;
      }
      const sent: Promise<void> = send(inner.signal)
        .catch((error: unknown) => {
          failure ??= { error };
          inner.abort(error);
        })
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
  throwIfAborted(signal, input.phase);
}

/** Reads exactly `length` bytes at `position` (short reads happen on some file systems). */
async function readFully(
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
