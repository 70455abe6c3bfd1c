import { open } from 'node:fs/promises';
import { throwIfAborted } from '@mantle/cluster';
import type { Extent } from './sparse-map.js';

// The tarball GCE imports (`tar --format=oldgnu -Sczf image.tar.gz disk.raw`, as its docs say): one
// member `disk.raw` of type 'S' (old GNU sparse). Its header carries the first four entries of the
// sparse map (offset, bytes), extension blocks carry 21 more each, and only the data of the extents
// follows, back to back, padded to 512. Numbers are octal, or GNU's base-256 when too big for the
// field (disks over 8 GiB). The archive ends with two zero blocks, padded to GNU's 10 KiB record.

export const block = 512;
/** GNU tar's default record: 20 blocks. */
export const recordSize = 20 * block;

const headerEntries = 4;
const extensionEntries = 21;

export interface SparseMember {
  name: string;
  /** The file's full size (what the sparse map describes). */
  realSize: number;
  extents: readonly Extent[];
  /** Seconds since the epoch. */
  mtime: number;
  mode?: number;
}

/** A numeric field: octal digits and a NUL when they fit, else base-256 (first byte 0x80). */
export function writeNumber(buf: Buffer, offset: number, width: number, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`tar: ${value} is not a size`);
  const octal = value.toString(8);
  if (octal.length <= width - 1) {
    buf.write(octal.padStart(width - 1, '0'), offset, 'latin1');
    buf[offset + width - 1] = 0;
    return;
  }
  let v = BigInt(value);
  for (let i = width - 1; i >= 1; i--) {
    buf[offset + i] = Number(v & 0xffn);
    v >>= 8n;
  }
  buf[offset] = 0x80;
}

/** The map as stored: the extents plus, when the file ends in a hole, `{realSize, 0}` as GNU tar writes. */
export function storedMap(member: SparseMember): Extent[] {
  const map = [...member.extents];
  for (const [i, e] of map.entries()) {
    const last = i === map.length - 1;
    if (e.offset % block !== 0 || (!last && e.length % block !== 0))
      throw new Error(`tar: extent ${e.offset}+${e.length} is not aligned to ${block} bytes`);
    if (i > 0 && e.offset < map[i - 1]!.offset + map[i - 1]!.length) throw new Error('tar: extents overlap');
  }
  const end = map.length ? map[map.length - 1]!.offset + map[map.length - 1]!.length : 0;
  if (end > member.realSize) throw new Error('tar: an extent ends past the end of the file');
  if (end < member.realSize || map.length === 0) map.push({ offset: member.realSize, length: 0 });
  return map;
}

/** Bytes of data in the member (its header's size field). */
export function dataSize(member: SparseMember): number {
  return member.extents.reduce((s, e) => s + e.length, 0);
}

function writeEntries(buf: Buffer, at: number, entries: readonly Extent[]): void {
  entries.forEach((e, i) => {
    writeNumber(buf, at + i * 24, 12, e.offset);
    writeNumber(buf, at + i * 24 + 12, 12, e.length);
  });
}

/** The header block and its sparse extension blocks. */
export function sparseHeader(member: SparseMember): Buffer {
  const map = storedMap(member);
  const rest = map.slice(headerEntries);
  const extensions = Math.ceil(rest.length / extensionEntries);
  const out = Buffer.alloc(block * (1 + extensions));
  const h = out.subarray(0, block);
  const name = Buffer.from(member.name, 'utf8');
  if (name.length > 99) throw new Error(`tar: member name ${member.name} is too long`);
  name.copy(h, 0);
  writeNumber(h, 100, 8, member.mode ?? 0o644);
  writeNumber(h, 108, 8, 0); // uid
  writeNumber(h, 116, 8, 0); // gid
  writeNumber(h, 124, 12, dataSize(member));
  writeNumber(h, 136, 12, Math.floor(member.mtime));
  h[156] = 'S'.charCodeAt(0);
  h.write('ustar  \0', 257, 'latin1'); // old GNU magic and version
  h.write('root', 265, 'latin1');
  h.write('root', 297, 'latin1');
  writeEntries(h, 386, map.slice(0, headerEntries));
  h[482] = rest.length > 0 ? 1 : 0;
  writeNumber(h, 483, 12, member.realSize);
  for (let x = 0; x < extensions; x++) {
    const ext = out.subarray(block * (1 + x), block * (2 + x));
    writeEntries(ext, 0, rest.slice(x * extensionEntries, (x + 1) * extensionEntries));
    ext[504] = x < extensions - 1 ? 1 : 0;
  }
  // checksum: the header's bytes summed with the field itself taken as spaces
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return out;
}

/** The whole archive's length in bytes, known before any data is read. */
export function archiveSize(member: SparseMember): number {
  const body = sparseHeader(member).length + Math.ceil(dataSize(member) / block) * block + 2 * block;
  return Math.ceil(body / recordSize) * recordSize;
}

export interface TarStreamOptions {
  /**
   * Bytes per buffer yielded (default 1 MiB): every one but the last is exactly this long, filled
   * in place by the reads, so that a consumer cutting the stream into blocks of this size (the
   * parallel gzip) never copies.
   */
  readSize?: number;
  signal?: AbortSignal;
  /** Data bytes read from the file so far, in steps. */
  onRead?(bytes: number): void;
}

/**
 * The archive, front to back: header, each extent's bytes read from `path` (holes are never read),
 * padding, end of archive. Yields fresh buffers the consumer may keep.
 */
export async function* sparseTarStream(
  path: string,
  member: SparseMember,
  options: TarStreamOptions = {},
): AsyncGenerator<Buffer> {
  const size = options.readSize ?? 1024 * 1024;
  const total = archiveSize(member);
  let out = Buffer.allocUnsafe(Math.min(size, total));
  let fill = 0;
  let emitted = 0;
  // bytes placed at `fill`; whenever `out` is full it is yielded and a new one begins
  const full = () => fill === out.length;
  const next = () => {
    const done = out;
    emitted += done.length;
    out = Buffer.allocUnsafe(Math.min(size, total - emitted));
    fill = 0;
    return done;
  };
  const put = function* (bytes: Buffer) {
    for (let at = 0; at < bytes.length; ) {
      const n = bytes.copy(out, fill, at);
      fill += n;
      at += n;
      if (full()) yield next();
    }
  };
  yield* put(sparseHeader(member));
  const handle = await open(path, 'r');
  try {
    for (const extent of member.extents) {
      for (let done = 0; done < extent.length; ) {
        throwIfAborted(options.signal, 'reading the image');
        const want = Math.min(out.length - fill, extent.length - done);
        const { bytesRead } = await handle.read(out, fill, want, extent.offset + done);
        if (bytesRead === 0)
          throw new Error(`${path}: the file shrank while it was read (at byte ${extent.offset + done})`);
        fill += bytesRead;
        done += bytesRead;
        options.onRead?.(bytesRead);
        if (full()) yield next();
      }
    }
  } finally {
    await handle.close();
  }
  // padding of the last data block, the two end blocks and the record: zeros to the end
  while (emitted + fill < total) {
    const n = Math.min(out.length - fill, total - emitted - fill);
    out.fill(0, fill, fill + n);
    fill += n;
    if (full()) yield next();
  }
  if (fill > 0) yield out.subarray(0, fill);
}
