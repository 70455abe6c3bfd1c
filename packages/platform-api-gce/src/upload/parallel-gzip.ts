import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { throwIfAborted } from '@mantle/cluster';
import { crc32Polynomial, crcCombine, withKnownCrc32c } from './crc32c.js';
import { deflateWindow } from './deflate-block.js';
import type { GzipAnswer, GzipJob } from './gzip-worker.js';

// gzip as pigz writes it, so that compression uses every core: the input is cut into blocks, each
// deflated on a worker thread with the previous block's last 32 KiB as its dictionary and ended
// with a sync flush (the last one with a final block), and the pieces are written in order between
// one gzip header and trailer (CRC-32 and size of the whole input). Each piece comes out with its
// CRC-32C known (crc32c.ts `withKnownCrc32c`), which the upload joins instead of computing. The result is one ordinary gzip
// member that gunzip, GNU tar and GCE's importer read; the same input gives the same bytes, which an
// interrupted upload relies on when it regenerates the stream to skip what the server has. Worker
// threads rather than zlib's async calls: a block's incompressible parts are found by sampling
// (deflate-block.ts), which is JavaScript and would otherwise take the main thread.

/** gzip header: magic, deflate, no flags, mtime 0, no extra flags, OS Unix (as zlib writes it). */
const header = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);

export interface GzipOptions {
  /** zlib level 1-9 (gzip's default 6). */
  level?: number;
  /** Input bytes per block (default 1 MiB). */
  blockSize?: number;
  /** Threads deflating (default: the CPUs this process may use). */
  parallel?: number;
  signal?: AbortSignal;
}

/** Packs the source's buffers into blocks of `size` bytes (the last may be shorter). */
async function* blocksOf(source: AsyncIterable<Buffer>, size: number): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  for await (const piece of source) {
    let rest = piece;
    while (rest.length > 0) {
      const take = Math.min(rest.length, size - pendingBytes);
      pending.push(rest.subarray(0, take));
      pendingBytes += take;
      rest = rest.subarray(take);
      if (pendingBytes === size) {
        yield pending.length === 1 ? pending[0]! : Buffer.concat(pending, size);
        pending = [];
        pendingBytes = 0;
      }
    }
  }
  if (pendingBytes > 0 || pending.length === 0) yield Buffer.concat(pending, pendingBytes);
}

// vitest runs the TypeScript sources; the worker is always the built file (`pnpm run build`)
const workerUrl = import.meta.url.endsWith('.ts')
  ? new URL('../../dist/upload/gzip-worker.js', import.meta.url)
  : new URL('./gzip-worker.js', import.meta.url);

interface DeflatedBlock {
  output: Buffer;
  /** CRC-32 of the block's input. */
  inputCrc32: number;
}

/** Threads that deflate blocks; answers come back by job id. */
class DeflatePool {
  private readonly workers: Worker[];
  private readonly waiting = new Map<number, { resolve(b: DeflatedBlock): void; reject(e: Error): void }>();
  private nextId = 0;
  private broken: Error | undefined;

  constructor(size: number) {
    this.workers = Array.from({ length: size }, () => {
      const worker = new Worker(workerUrl);
      worker.on('message', (answer: GzipAnswer) => {
        const waiter = this.waiting.get(answer.id);
        this.waiting.delete(answer.id);
        if ('error' in answer) waiter?.reject(new Error(`compressing the image: ${answer.error}`));
        else
          waiter?.resolve({
            output: withKnownCrc32c(
              Buffer.from(answer.output.buffer, answer.output.byteOffset, answer.output.length),
              answer.outputCrc32c,
            ),
            inputCrc32: answer.inputCrc32,
          });
      });
      worker.on('error', (e) => this.fail(e));
      worker.on('exit', (code) => {
        if (code !== 0) this.fail(new Error(`a compression thread exited with code ${code}`));
      });
      return worker;
    });
  }

  private fail(e: Error) {
    this.broken ??= e;
    for (const waiter of this.waiting.values()) waiter.reject(e);
    this.waiting.clear();
  }

  /** Deflates `input` (which the pool may take over: the caller must not use it after). */
  deflate(job: Omit<GzipJob, 'id'>): Promise<DeflatedBlock> {
    if (this.broken) return Promise.reject(this.broken);
    const id = this.nextId++;
    // a buffer that is the whole of its memory moves to the thread; a view into more is copied
    const own = job.input.byteOffset === 0 && job.input.byteLength === job.input.buffer.byteLength;
    const input = own ? job.input : new Uint8Array(job.input);
    const done = new Promise<DeflatedBlock>((resolve, reject) => this.waiting.set(id, { resolve, reject }));
    this.workers[id % this.workers.length]!.postMessage({ ...job, id, input } satisfies GzipJob, [
      input.buffer as ArrayBuffer,
    ]);
    return done;
  }

  async close() {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** The gzip of everything `source` yields, as buffers in order. */
export async function* parallelGzip(
  source: AsyncIterable<Buffer>,
  options: GzipOptions = {},
): AsyncGenerator<Buffer> {
  const level = options.level ?? 6;
  const threads = Math.max(1, options.parallel ?? availableParallelism());
  const blocks = blocksOf(source, options.blockSize ?? 1024 * 1024)[Symbol.asyncIterator]();
  // two blocks per thread in flight: a thread never waits for the next one to be read
  const depth = threads * 2;
  const inflight: Array<{ done: Promise<DeflatedBlock>; length: number }> = [];
  let crc = 0;
  let size = 0;
  let dictionary: Uint8Array | undefined;
  let next = await blocks.next();
  const pool = new DeflatePool(threads);
  yield header;
  try {
    while (!next.done || inflight.length > 0) {
      while (!next.done && inflight.length < depth) {
        throwIfAborted(options.signal, 'compressing the image');
        const input = next.value;
        next = await blocks.next();
        const length = input.length; // the input moves to the thread: read it now
        size += length;
        const previous = dictionary;
        // copied: the block itself goes to the thread
        dictionary = new Uint8Array(input.subarray(Math.max(0, input.length - deflateWindow)));
        const done = pool.deflate({ input, dictionary: previous, level, last: next.done === true });
        // an error is seen when its turn comes; until then it must not be an unhandled rejection
        done.catch(() => {});
        inflight.push({ done, length });
      }
      const { done, length } = inflight.shift()!;
      const block = await done;
      crc = crcCombine(crc32Polynomial, crc, block.inputCrc32, length);
      yield block.output;
    }
  } finally {
    await pool.close();
    await blocks.return?.(undefined);
  }
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc >>> 0, 0);
  trailer.writeUInt32LE(size % 2 ** 32, 4);
  yield trailer;
}
