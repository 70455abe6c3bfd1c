import { execFile } from 'node:child_process';
import { open } from 'node:fs/promises';
import { throwIfAborted } from '@mantle/cluster';

/** A run of the file that holds data (not all zero): what a sparse tar stores. */
export interface Extent {
  offset: number;
  length: number;
}

export interface ScanOptions {
  /** Granularity of holes: a block of this many bytes that is all zero is a hole (a multiple of 512). */
  blockSize?: number;
  /** Bytes read per call. */
  readSize?: number;
  signal?: AbortSignal;
  onRead?(bytes: number): void;
  /**
   * Only these parts of the file can hold data (the file system's allocated regions): the rest is
   * a hole and is not read at all. The whole file when undefined.
   */
  regions?: readonly Extent[];
}

/** 4 KiB: a file system block, so holes the file system made are found whole. */
export const defaultHoleBlock = 4096;

/**
 * The data extents of a raw disk, found by reading it once: every block of `blockSize` that is not
 * all zero, merged with its neighbours. Extents start and (but for one ending at end of file) end on
 * a multiple of 512, which the tar's sparse map needs. This is the only pass that reads the holes.
 */
export async function scanDataExtents(
  path: string,
  size: number,
  options: ScanOptions = {},
): Promise<Extent[]> {
  const block = options.blockSize ?? defaultHoleBlock;
  if (block % 512 !== 0 || block <= 0) throw new Error(`hole block size ${block} is not a multiple of 512`);
  const readSize = Math.max(block, Math.floor((options.readSize ?? 4 * 1024 * 1024) / block) * block);
  const zero = Buffer.alloc(block);
  const buffer = Buffer.allocUnsafe(readSize);
  const extents: Extent[] = [];
  let current: Extent | undefined;
  const handle = await open(path, 'r');
  const regions = (options.regions ?? [{ offset: 0, length: size }]).map((r) => {
    const start = Math.floor(r.offset / block) * block;
    return { start, end: Math.min(size, Math.ceil((r.offset + r.length) / block) * block) };
  });
  try {
    for (const region of regions)
      for (let position = region.start; position < region.end; ) {
        throwIfAborted(options.signal, 'scanning the image for holes');
        const want = Math.min(readSize, region.end - position);
        let got = 0;
        while (got < want) {
          const { bytesRead } = await handle.read(buffer, got, want - got, position + got);
          if (bytesRead === 0) throw new Error(`${path}: unexpected end of file at byte ${position + got}`);
          got += bytesRead;
        }
        for (let i = 0; i < got; i += block) {
          const end = Math.min(i + block, got);
          const piece = buffer.subarray(i, end);
          const isZero = end - i === block ? piece.equals(zero) : piece.equals(zero.subarray(0, end - i));
          if (isZero || (current && current.offset + current.length !== position + i)) current = undefined;
          if (isZero) {
            current = undefined;
            continue;
          }
          if (current) current.length += end - i;
          else {
            current = { offset: position + i, length: end - i };
            extents.push(current);
          }
        }
        position += got;
        options.onRead?.(got);
      }
  } finally {
    await handle.close();
  }
  return extents;
}

/** Bytes of data the extents hold. */
export function extentBytes(extents: readonly Extent[]): number {
  return extents.reduce((sum, e) => sum + e.length, 0);
}

// Node has no lseek, so SEEK_DATA/SEEK_HOLE (3 and 4 on Linux) are asked of perl, which every
// Debian-like system has: it prints each allocated region as "<data> <hole>".
const seekDataScript =
  'open(my $f, "<", $ARGV[0]) or exit 2; my $o = 0; while (1) { my $d = sysseek($f, $o, 3); last unless defined $d; my $h = sysseek($f, $d, 4); last unless defined $h; print 0 + $d, " ", 0 + $h, "\\n"; $o = $h; }';

/**
 * The regions of the file the file system has allocated (SEEK_DATA/SEEK_HOLE), so a sparse disk's
 * holes need not be read at all; undefined where that cannot be asked (no perl, no Linux), and the
 * caller reads the whole file instead. A file system without hole support answers one region.
 */
export function allocatedRegions(
  path: string,
  size: number,
  signal?: AbortSignal,
): Promise<Extent[] | undefined> {
  if (process.platform !== 'linux') return Promise.resolve(undefined);
  return new Promise((resolve) => {
    execFile(
      'perl',
      ['-e', seekDataScript, path],
      { ...(signal ? { signal } : {}), maxBuffer: 256 * 1024 * 1024 },
      (error, stdout) => {
        if (error) return resolve(undefined);
        const regions: Extent[] = [];
        let last = 0;
        for (const line of stdout.split('\n')) {
          if (!line) continue;
          const [d, h] = line.split(' ').map(Number) as [number, number];
          // anything odd (overlaps, past the end): do not trust it, read the whole file
          if (!(Number.isSafeInteger(d) && Number.isSafeInteger(h) && d >= last && h > d && d < size))
            return resolve(undefined);
          regions.push({ offset: d, length: Math.min(h, size) - d });
          last = h;
        }
        resolve(regions);
      },
    );
  });
}
