import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import type { PageBlobClient } from '@azure/storage-blob';
import { ConfigError, type Logger } from '@mantle/cluster';
import { alignedDiskSize, fixedVhdFooter, footerBytes, vhdProblem } from './vhd.js';

/** Azure's largest page write. */
export const maxPageWrite = 4 * 1024 * 1024;
const page = 512;

export interface DiskSource {
  /** The disk's bytes on the blob before the footer: the file's (raw) or the file minus its footer (VHD). */
  dataBytes: number;
  /** What the file holds for those bytes (raw: less than dataBytes when rounded up). */
  fileDataBytes: number;
  /** The blob's size: dataBytes + footer. */
  blobBytes: number;
  /** The footer written last. */
  footer: Buffer;
  kind: 'raw' | 'vhd';
}

/**
 * What to upload for `file`: a fixed VHD as it is (checked when `validate`), anything else as a raw
 * disk that becomes a fixed VHD on the fly, its size rounded up to a whole MiB and a footer appended.
 */
export async function describeDisk(file: string, validate: boolean): Promise<DiskSource> {
  const handle = await open(file, 'r').catch((e: NodeJS.ErrnoException) => {
    throw new ConfigError(`--file ${file}: cannot read it (${e.code ?? e.message})`);
  });
  try {
    const { size } = await handle.stat();
    if (size === 0) throw new ConfigError(`--file ${file}: the file is empty`);
    const tail = Buffer.alloc(footerBytes);
    if (size >= footerBytes) await handle.read(tail, 0, footerBytes, size - footerBytes);
    const isVhd = size > footerBytes && tail.toString('ascii', 0, 8) === 'conectix';
    if (isVhd) {
      const problem = vhdProblem(size, tail);
      if (problem && validate) throw new ConfigError(`--file ${file}: ${problem}`);
      return {
        dataBytes: size - footerBytes,
        fileDataBytes: size - footerBytes,
        blobBytes: size,
        footer: tail,
        kind: 'vhd',
      };
    }
    if (validate && /\.vhd$/i.test(file))
      throw new ConfigError(
        `--file ${file}: named .vhd but has no VHD footer (the last 512 bytes do not start with "conectix")`,
      );
    const dataBytes = alignedDiskSize(size);
    return {
      dataBytes,
      fileDataBytes: size,
      blobBytes: dataBytes + footerBytes,
      footer: fixedVhdFooter(dataBytes),
      kind: 'raw',
    };
  } finally {
    await handle.close();
  }
}

/** `[start, end)` byte ranges already on the blob. */
export type Ranges = Array<[number, number]>;

/** listPageRanges' ranges, whose `end` is inclusive (the service's), as `[start, end)`. */
export function rangesFromPageList(list: readonly { start: number; end?: number }[]): Ranges {
  return list.map((r) => [r.start, (r.end ?? r.start) + 1] as [number, number]).sort((a, b) => a[0] - b[0]);
}

function covered(ranges: Ranges, start: number, end: number): boolean {
  return ranges.some(([s, e]) => s <= start && end <= e);
}

/** The non-zero 512-byte runs of `chunk`, as `[start, end)` offsets within it. */
export function nonZeroRuns(chunk: Buffer): Array<[number, number]> {
  const runs: Array<[number, number]> = [];
  let start = -1;
  for (let off = 0; off < chunk.length; off += page) {
    const end = Math.min(off + page, chunk.length);
    let zero = true;
    // 8 bytes at a time: the scan is most of the work on a mostly empty disk
    let i = off;
    for (; i + 8 <= end; i += 8) if (chunk.readBigUInt64LE(i) !== 0n) break;
    if (i + 8 <= end) zero = false;
    else for (; i < end; i++) if (chunk[i] !== 0) zero = false;
    if (!zero && start < 0) start = off;
    if (zero && start >= 0) {
      runs.push([start, off]);
      start = -1;
    }
  }
  if (start >= 0) runs.push([start, chunk.length]);
  return runs;
}

export interface UploadStats {
  /** Bytes of page writes sent (data plus footer). */
  bytesSent: number;
  /** Page writes sent. */
  writes: number;
  /** Bytes skipped because the blob already had them (resume). */
  bytesResumed: number;
}

export interface UploadOptions {
  blob: PageBlobClient;
  file: string;
  source: DiskSource;
  /** Ranges already on the blob (resume); the footer's presence means a finished upload. */
  existing: Ranges;
  concurrency: number;
  signal: AbortSignal;
  log: Logger;
  onProgress?(bytesRead: number): void;
}

/**
 * Writes the disk's non-zero pages to the page blob, `concurrency` writes at once, each with its
 * MD5 (the service refuses a write whose bytes do not match), skipping ranges the blob already has;
 * then the footer, last, so that a blob with a footer is a finished upload. Reads the file once, a
 * chunk at a time: memory is about `concurrency` × 4 MiB.
 */
export async function uploadDisk(o: UploadOptions): Promise<UploadStats> {
  const stats: UploadStats = { bytesSent: 0, writes: 0, bytesResumed: 0 };
  const handle = await open(o.file, 'r');
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;
  const write = (body: Buffer, offset: number) => {
    const md5 = createHash('md5').update(body).digest();
    const task = o.blob
      .uploadPages(body, offset, body.length, { transactionalContentMD5: md5, abortSignal: o.signal })
      .then(() => {
        stats.bytesSent += body.length;
        stats.writes++;
      })
      .catch((e: unknown) => {
        failure ??= e;
      })
      .finally(() => inFlight.delete(task));
    inFlight.add(task);
  };
  try {
    for (let offset = 0; offset < o.source.fileDataBytes && failure === undefined; offset += maxPageWrite) {
      o.signal.throwIfAborted();
      while (inFlight.size >= o.concurrency) await Promise.race(inFlight);
      const length = Math.min(maxPageWrite, o.source.fileDataBytes - offset);
      // whole pages: a raw file's last partial page is padded with zeros
      const chunk = Buffer.alloc(Math.ceil(length / page) * page);
      const { bytesRead } = await handle.read(chunk, 0, length, offset);
      if (bytesRead !== length) throw new ConfigError(`--file ${o.file}: changed while it was read`);
      for (const [start, end] of nonZeroRuns(chunk)) {
        if (covered(o.existing, offset + start, offset + end)) {
          stats.bytesResumed += end - start;
          continue;
        }
        write(chunk.subarray(start, end), offset + start);
      }
      o.onProgress?.(offset + length);
    }
    await Promise.all(inFlight);
    if (failure !== undefined) throw failure;
    o.signal.throwIfAborted();
    write(o.source.footer, o.source.dataBytes);
    await Promise.all(inFlight);
    if (failure !== undefined) throw failure;
    return stats;
  } finally {
    await Promise.allSettled(inFlight);
    await handle.close();
  }
}
