import { open } from 'node:fs/promises';
import { PlatformApiError, throwIfAborted } from '@mantle/cluster';
import { readFully } from '@mantle/cluster/stream-vmdk';

/** One chunk of the source, filled into a buffer of the pool (`buffer` is `chunkSize` long). */
export interface Chunk {
  index: number;
  /** Bytes of the source in this chunk (less than chunkSize only for the last one). */
  length: number;
  buffer: Buffer;
}

/** Where chunks come from: a file read in place, or bytes generated on the way (a VMDK stream). */
export interface ChunkSource {
  /** Fills `buffer` with the next bytes, all of it unless the source ends; 0 when it has ended. */
  fill(buffer: Buffer, index: number): Promise<number>;
  close(): Promise<void>;
}

export interface ChunkPipelineInput {
  source: ChunkSource;
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

/** The first `size` bytes of a file, chunk by chunk (chunk i at i × chunkSize). */
export async function fileSource(path: string, size: number, chunkSize: number): Promise<ChunkSource> {
  const handle = await open(path, 'r');
  return {
    async fill(buffer, index) {
      const position = index * chunkSize;
      const length = Math.max(0, Math.min(chunkSize, size - position));
      await readFully(handle, buffer, length, position);
      return length;
    },
    close: () => handle.close(),
  };
}

/** Packs the buffers an iterator yields into chunks; the iterator is asked for more only as needed. */
export function iteratorSource(chunks: AsyncIterator<Buffer>): ChunkSource {
  let pending: Buffer | undefined;
  let ended = false;
  return {
    async fill(buffer) {
      let filled = 0;
      while (filled < buffer.length) {
        if (!pending?.length) {
          if (ended) break;
          const next = await chunks.next();
          if (next.done) {
            ended = true;
            break;
          }
          pending = next.value;
          continue;
        }
        const n = pending.copy(buffer, filled);
        filled += n;
        pending = pending.subarray(n);
      }
      return filled;
    },
    async close() {
      if (!ended) await chunks.return?.(undefined);
    },
  };
}

/**
 * Takes a source chunk by chunk into `parallel` reused buffers and sends up to `parallel` chunks at
 * once. The first failed send aborts the others and is thrown once they have settled; nothing new
 * starts after it. Memory is `parallel` chunks, whatever the source's size. The source is closed.
 */
export async function sendChunks(input: ChunkPipelineInput): Promise<void> {
  const { chunkSize, signal, source } = input;
  const free: Buffer[] = Array.from({ length: Math.max(1, input.parallel) }, () =>
    Buffer.allocUnsafe(chunkSize),
  );
  const inner = new AbortController();
  const onAbort = () => inner.abort(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  const inflight = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  try {
    for (let index = 0; !failure; index++) {
      throwIfAborted(signal, input.phase);
      while (free.length === 0) await Promise.race(inflight);
      if (failure) break;
      const buffer = free.pop()!;
      let length: number;
      try {
        length = await source.fill(buffer, index);
      } catch (error) {
        // a read or generation error: stop the sends in flight too, then report it
        failure ??= { error };
        inner.abort(error);
        break;
      }
      // an empty source still makes one (empty) chunk: S3 needs a part to complete an upload
      if (length === 0 && index > 0) break;
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
    await source.close();
  }
  if (failure) throw failure.error;
  throwIfAborted(signal, input.phase);
}
