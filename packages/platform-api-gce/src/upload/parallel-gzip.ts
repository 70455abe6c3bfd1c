import { promisify } from 'node:util';
import { constants, crc32, deflateRaw } from 'node:zlib';
import { throwIfAborted } from '@mantle/cluster';

// gzip as pigz writes it, so that compression uses every core: the input is cut into blocks, each
// deflated on libuv's threads with the previous block's last 32 KiB as its dictionary and ended with
// a sync flush (the last one with a final block), and the pieces are written in order between one
// gzip header and trailer (CRC-32 and size of the whole input). The result is one ordinary gzip
// member that gunzip, GNU tar and GCE's importer read; the same input gives the same bytes, which an
// interrupted upload relies on when it regenerates the stream to skip what the server has.

const deflateRawAsync = promisify(deflateRaw);

/** gzip header: magic, deflate, no flags, mtime 0, no extra flags, OS Unix (as zlib writes it). */
const header = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
const window = 32 * 1024;

export interface GzipOptions {
  /** zlib level 1-9 (gzip's default 6). */
  level?: number;
  /** Input bytes per block (default 1 MiB). */
  blockSize?: number;
  /** Blocks deflating at once (default 4: libuv's threads). */
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

/** The gzip of everything `source` yields, as buffers in order. */
export async function* parallelGzip(
  source: AsyncIterable<Buffer>,
  options: GzipOptions = {},
): AsyncGenerator<Buffer> {
  const level = options.level ?? 6;
  const parallel = Math.max(1, options.parallel ?? 4);
  const blocks = blocksOf(source, options.blockSize ?? 1024 * 1024)[Symbol.asyncIterator]();
  const inflight: Array<Promise<Buffer>> = [];
  let crc = 0;
  let size = 0;
  let previous: Buffer | undefined;
  let next = await blocks.next();
  yield header;
  try {
    while (!next.done || inflight.length > 0) {
      while (!next.done && inflight.length < parallel) {
        throwIfAborted(options.signal, 'compressing the image');
        const input = next.value;
        next = await blocks.next();
        const last = next.done === true;
        crc = crc32(input, crc);
        size += input.length;
        const dictionary = previous ? previous.subarray(Math.max(0, previous.length - window)) : undefined;
        previous = input;
        const done = deflateRawAsync(input, {
          level,
          ...(dictionary ? { dictionary } : {}),
          finishFlush: last ? constants.Z_FINISH : constants.Z_SYNC_FLUSH,
        });
        // an error is seen when its turn comes; until then it must not be an unhandled rejection
        done.catch(() => {});
        inflight.push(done);
      }
      yield await inflight.shift()!;
    }
  } finally {
    await blocks.return?.(undefined);
  }
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc >>> 0, 0);
  trailer.writeUInt32LE(size % 2 ** 32, 4);
  yield trailer;
}
