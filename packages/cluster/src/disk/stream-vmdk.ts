import { open } from 'node:fs/promises';
import { promisify } from 'node:util';
import { crc32, deflate } from 'node:zlib';
import { throwIfAborted } from '../wait.js';

// Shared by `ore aws upload` (VMDK to S3 for ImportSnapshot) and `ore esx create-base` (a raw
// disk sent through an HttpNfcLease).
// A stream-optimized VMDK (VMware's "Virtual Disk Format 5.0", the layout VMware's own stream
// writers and open-vmdk's vmdk-convert produce, which Flatcar uploads to AWS): a header and
// descriptor, then each grain that is not all zero as an LBA marker and its deflated bytes, a grain
// table after the grains it covers, the grain directory, a footer (the header with the directory's
// offset) and an end-of-stream marker. Written front to back in one pass, so it can go straight
// into a multipart upload without a temporary file.

const sector = 512;
/** Sectors per grain: 64 KiB, what every stream-optimized writer uses. */
const grainSectors = 128;
const grainBytes = grainSectors * sector;
const entriesPerTable = 512;
const tableSectors = (entriesPerTable * 4) / sector;
/** Sectors one grain table covers (32 MiB). */
const tableCoverage = grainSectors * entriesPerTable;

const flagValidNewlineDetector = 1;
const flagCompressed = 0x10000;
const flagEmbeddedLba = 0x20000;
const gdAtEnd = 0xffff_ffff_ffff_ffffn;
const compressDeflate = 1;

const markerEndOfStream = 0;
const markerGrainTable = 1;
const markerGrainDirectory = 2;
const markerFooter = 3;

const deflateAsync = promisify(deflate);

export interface StreamVmdkInput {
  path: string;
  /** Bytes of the raw image (a multiple of 512). */
  size: number;
  /** Ties the descriptor's content id to this image, so that a re-run makes the same bytes. */
  identity: string;
  /** zlib level of the grains: 1 (the default) deflates far faster than 6 for slightly more bytes. */
  level?: number;
  /** Bytes of the raw image read so far, in steps. */
  onRead?(bytes: number): void;
  signal: AbortSignal;
}

export interface StreamVmdkStats {
  grains: number;
  /** Grains left out because they are all zero (a VMDK reads absent grains as zero). */
  zeroGrains: number;
  bytesOut: number;
}

/** Reads this much of the image at a time, and deflates its grains together (on libuv's threads). */
const readBytes = 4 * 1024 * 1024;
/** Reads whose grains may be deflating at once: memory is about twice this many reads, in and out. */
const readsAhead = 2;

/** Sectors before the first grain: header and descriptor, rounded up to a grain boundary. */
const overheadSectors = (descriptorSectors: number) =>
  Math.ceil((1 + descriptorSectors) / grainSectors) * grainSectors;

function header(capacitySectors: bigint, descriptorSectors: number, gdOffset: bigint): Buffer {
  const h = Buffer.alloc(sector);
  h.write('KDMV', 0, 'latin1');
  h.writeUInt32LE(3, 4); // version 3: compressed grains with markers
  h.writeUInt32LE(flagValidNewlineDetector | flagCompressed | flagEmbeddedLba, 8);
  h.writeBigUInt64LE(capacitySectors, 12);
  h.writeBigUInt64LE(BigInt(grainSectors), 20);
  h.writeBigUInt64LE(1n, 28); // descriptor right after the header
  h.writeBigUInt64LE(BigInt(descriptorSectors), 36);
  h.writeUInt32LE(entriesPerTable, 44);
  h.writeBigUInt64LE(0n, 48); // no redundant grain directory
  h.writeBigUInt64LE(gdOffset, 56);
  h.writeBigUInt64LE(BigInt(overheadSectors(descriptorSectors)), 64);
  h.writeUInt8(0, 72); // clean
  h.write('\n \r\n', 73, 'latin1'); // lets readers detect a file mangled by newline conversion
  h.writeUInt16LE(compressDeflate, 77);
  return h;
}

function descriptor(capacitySectors: bigint, identity: string): Buffer {
  // the CHS geometry VMware derives for SCSI disks: 255 heads, 63 sectors, cylinders capped
  const cylinders = Math.min(65535, Number(capacitySectors / BigInt(255 * 63)));
  const cid = crc32(`${identity}:${capacitySectors}`).toString(16).padStart(8, '0');
  const text = [
    '# Disk DescriptorFile',
    'version=1',
    'encoding="UTF-8"',
    `CID=${cid}`,
    'parentCID=ffffffff',
    'createType="streamOptimized"',
    '',
    '# Extent description',
    `RW ${capacitySectors} SPARSE "disk.vmdk"`,
    '',
    '# The Disk Data Base',
    '#DDB',
    '',
    'ddb.virtualHWVersion = "4"',
    `ddb.geometry.cylinders = "${cylinders}"`,
    'ddb.geometry.heads = "255"',
    'ddb.geometry.sectors = "63"',
    'ddb.adapterType = "lsilogic"',
    '',
  ].join('\n');
  return Buffer.from(text, 'utf8');
}

/** A metadata marker: a whole sector, saying what follows and how many sectors it takes. */
function marker(type: number, followingSectors: number): Buffer {
  const m = Buffer.alloc(sector);
  m.writeBigUInt64LE(BigInt(followingSectors), 0);
  m.writeUInt32LE(0, 8); // size 0: a marker, not a grain
  m.writeUInt32LE(type, 12);
  return m;
}

const padding = (length: number) => Buffer.alloc((sector - (length % sector)) % sector);

/** Grain tables address the stream in 32-bit sectors: one extent, and so this stream, stops at 2 TiB. */
export function fitsOneVmdkExtent(size: number): boolean {
  return streamVmdkSizeBound(size) / sector <= 0xffff_ffff;
}

/**
 * The most bytes the VMDK of a raw image of `size` bytes can take: every grain present and
 * incompressible (deflate adds a few bytes, the marker 12, the padding to a sector up to 511),
 * one table per 32 MiB, the directory and the fixed parts.
 */
export function streamVmdkSizeBound(size: number): number {
  const grains = Math.ceil(size / grainBytes);
  const tables = Math.ceil(grains / entriesPerTable);
  return grains * (grainBytes + 1024) + tables * (tableSectors + 1) * sector + tables * 4 + 4 * grainBytes;
}

/**
 * The stream-optimized VMDK of a raw image, in order, as buffers of varying size. `stats` is
 * complete once the iterator has finished.
 */
export function streamOptimizedVmdk(input: StreamVmdkInput): {
  chunks: AsyncGenerator<Buffer>;
  stats: StreamVmdkStats;
} {
  const stats: StreamVmdkStats = { grains: 0, zeroGrains: 0, bytesOut: 0 };
  return { chunks: generate(input, stats), stats };
}

async function* generate(input: StreamVmdkInput, stats: StreamVmdkStats): AsyncGenerator<Buffer> {
  const { size, signal } = input;
  if (size % sector !== 0) throw new Error(`image size ${size} is not a multiple of ${sector}`);
  if (!fitsOneVmdkExtent(size)) throw new Error(`image size ${size} is more than one VMDK extent holds`);
  const level = input.level ?? 1;
  const capacity = BigInt(size / sector);
  const desc = descriptor(capacity, input.identity);
  const descSectors = Math.ceil(desc.length / sector);
  const directoryEntries = Math.ceil(Number(capacity) / tableCoverage);
  const directory = Buffer.alloc(Math.ceil((directoryEntries * 4) / sector) * sector);
  /** Bytes of VMDK laid out so far: where the next piece goes, in the stream. */
  let offset = overheadSectors(descSectors) * sector;
  const emit = (parts: Buffer[]): Buffer => {
    const out = Buffer.concat(parts);
    stats.bytesOut += out.length;
    return out;
  };

  yield emit([header(capacity, descSectors, gdAtEnd), desc, Buffer.alloc(offset - sector - desc.length)]);

  let table: Buffer | undefined;
  let tableIndex = -1;
  /** The grain table of the grains just written, and where the directory should find it. */
  const flushTable = (): Buffer[] => {
    if (!table) return [];
    const m = marker(markerGrainTable, tableSectors);
    directory.writeUInt32LE((offset + m.length) / sector, tableIndex * 4);
    const parts = [m, table];
    offset += m.length + table.length;
    table = undefined;
    return parts;
  };

  const zero = Buffer.alloc(grainBytes);
  type Deflated = { grain: number; data: Buffer };
  const deflateRead = async (buffer: Buffer, firstGrain: number): Promise<Deflated[]> => {
    const jobs: Array<Promise<Deflated>> = [];
    for (let at = 0; at < buffer.length; at += grainBytes) {
      const grain = buffer.subarray(at, at + grainBytes);
      stats.grains++;
      if (grain.equals(zero)) stats.zeroGrains++;
      else
        jobs.push(
          deflateAsync(grain, { level }).then((data) => ({ grain: firstGrain + at / grainBytes, data })),
        );
    }
    return Promise.all(jobs);
  };

  const handle = await open(input.path, 'r');
  try {
    const ahead: Array<{ deflated: Promise<Deflated[]>; bytes: number; buffer: Buffer }> = [];
    // read buffers are reused: a fresh one per read costs page faults, most of the time spent reading holes
    const free: Buffer[] = [];
    // deflate errors surface in order, below; this only keeps an early one from going unhandled
    const watch = (p: Promise<Deflated[]>) => {
      p.catch(() => {});
      return p;
    };
    const writeOut = async function* (next: (typeof ahead)[number]) {
      const parts: Buffer[] = [];
      for (const { grain, data } of await next.deflated) {
        const index = Math.floor(grain / entriesPerTable);
        if (index !== tableIndex) {
          parts.push(...flushTable());
          table = Buffer.alloc(tableSectors * sector);
          tableIndex = index;
        }
        table!.writeUInt32LE(offset / sector, (grain % entriesPerTable) * 4);
        const lba = Buffer.alloc(12);
        lba.writeBigUInt64LE(BigInt(grain * grainSectors), 0);
        lba.writeUInt32LE(data.length, 8);
        const pad = padding(12 + data.length);
        parts.push(lba, data, pad);
        offset += 12 + data.length + pad.length;
      }
      free.push(next.buffer); // its grains are deflated (or were zero): it may be read into again
      if (parts.length) yield emit(parts);
      input.onRead?.(next.bytes);
    };
    for (let position = 0; position < size; position += readBytes) {
      throwIfAborted(signal, 'writing the VMDK stream');
      const bytes = Math.min(readBytes, size - position);
      // the last grain is padded with zeros: readers inflate whole grains
      const whole = free.pop() ?? Buffer.allocUnsafe(readBytes);
      const buffer = whole.subarray(0, Math.ceil(bytes / grainBytes) * grainBytes).fill(0, bytes);
      await readFully(handle, buffer, bytes, position);
      ahead.push({ deflated: watch(deflateRead(buffer, position / grainBytes)), bytes, buffer: whole });
      if (ahead.length >= readsAhead) yield* writeOut(ahead.shift()!);
    }
    while (ahead.length) yield* writeOut(ahead.shift()!);
  } finally {
    await handle.close();
  }

  const tail = flushTable();
  const dirMarker = marker(markerGrainDirectory, directory.length / sector);
  const gdOffset = BigInt((offset + dirMarker.length) / sector);
  yield emit([
    ...tail,
    dirMarker,
    directory,
    marker(markerFooter, 1),
    header(capacity, descSectors, gdOffset),
    marker(markerEndOfStream, 0),
  ]);
}

/** Reads exactly `length` bytes at `position` (a short read is retried; EOF is an error). */
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
