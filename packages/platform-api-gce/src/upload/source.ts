import { open, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { throwIfAborted, UsageError } from '@mantle/cluster';
import { crc32c } from './crc32c.js';
import { sparseTarStream } from './gnu-sparse-tar.js';
import { parallelGzip } from './parallel-gzip.js';
import type { SourceFrom } from './resumable.js';
import type { Extent } from './sparse-map.js';

/** GCE imports disks whose size is a whole number of GiB. */
export const gib = 1024 ** 3;

export interface ImageFile {
  path: string;
  size: number;
  mtimeMs: number;
  kind: 'raw' | 'targz';
}

/** Looks at `--file`: a gzip (the tar.gz GCE imports) or a raw disk (a whole number of GiB). */
export async function inspectImageFile(given: string): Promise<ImageFile> {
  const path = resolve(given);
  let st: Awaited<ReturnType<typeof stat>>;
  try {
    st = await stat(path);
  } catch (e) {
    throw new UsageError(
      `--file ${given}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`,
    );
  }
  if (!st.isFile()) throw new UsageError(`--file ${path}: not a regular file`);
  const head = Buffer.alloc(2);
  const handle = await open(path, 'r');
  try {
    await handle.read(head, 0, 2, 0);
  } finally {
    await handle.close();
  }
  const kind = head[0] === 0x1f && head[1] === 0x8b ? 'targz' : 'raw';
  if (kind === 'raw' && (st.size === 0 || st.size % gib !== 0))
    throw new UsageError(
      `--file ${path}: a raw disk of ${st.size} bytes; GCE imports disks of a whole number of GiB (truncate -s <N>G, or give the tar.gz)`,
    );
  return { path, size: st.size, mtimeMs: st.mtimeMs, kind };
}

export interface RawStreamSettings {
  extents: readonly Extent[];
  level: number;
  blockSize: number;
  parallel: number | undefined;
  mtime: number;
  signal: AbortSignal;
  onRead?(bytes: number): void;
}

/** The raw disk as GCE's tar.gz, made on the way: always from byte 0 (gzip cannot start midway). */
export function rawDiskSource(file: ImageFile, settings: RawStreamSettings): (offset: number) => SourceFrom {
  return () => ({
    stream: parallelGzip(
      sparseTarStream(
        file.path,
        { name: 'disk.raw', realSize: file.size, extents: settings.extents, mtime: settings.mtime },
        { signal: settings.signal, ...(settings.onRead ? { onRead: settings.onRead } : {}) },
      ),
      {
        level: settings.level,
        blockSize: settings.blockSize,
        ...(settings.parallel ? { parallel: settings.parallel } : {}),
        signal: settings.signal,
      },
    ),
    startsAt: 0,
    crc: 0,
  });
}

async function* readFrom(path: string, from: number, signal: AbortSignal, onRead?: (n: number) => void) {
  const handle = await open(path, 'r');
  try {
    for (let position = from; ; ) {
      throwIfAborted(signal, 'reading the image');
      const buf = Buffer.allocUnsafe(4 * 1024 * 1024);
      const { bytesRead } = await handle.read(buf, 0, buf.length, position);
      if (bytesRead === 0) return;
      position += bytesRead;
      onRead?.(bytesRead);
      yield buf.subarray(0, bytesRead);
    }
  } finally {
    await handle.close();
  }
}

/** A ready tar.gz: from the checkpoint whose CRC is known when it is where the server stands, else 0. */
export function tarGzSource(
  file: ImageFile,
  checkpoint: { offset: number; crc: number } | undefined,
  signal: AbortSignal,
  onRead?: (bytes: number) => void,
): (offset: number) => SourceFrom {
  return (offset) => {
    const from =
      checkpoint && checkpoint.offset <= offset && Number.isFinite(checkpoint.crc)
        ? checkpoint
        : { offset: 0, crc: 0 };
    return { stream: readFrom(file.path, from.offset, signal, onRead), startsAt: from.offset, crc: from.crc };
  };
}

/** The CRC-32C of a whole file (an object made by an earlier run is compared with it). */
export async function fileCrc32c(path: string, signal: AbortSignal): Promise<number> {
  let crc = 0;
  for await (const piece of readFrom(path, 0, signal)) crc = crc32c(piece, crc);
  return crc;
}

/** Bad `--bucket` values: one line. */
export function bucketError(url: string): UsageError {
  return new UsageError(`--bucket ${JSON.stringify(url)}: not a Cloud Storage URL (gs://bucket[/prefix])`);
}
