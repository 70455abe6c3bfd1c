import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';

/**
 * What Compute Engine checks of a `rawDisk.source` before it makes an image: a gzip'd tar (GNU or
 * oldgnu format, which `tar --format=oldgnu -Sczf` writes; GNU sparse entries allowed) holding one
 * file, `disk.raw`, whose size is a whole number of GiB. The whole archive is read (the gzip CRC and
 * every entry's data checked), as the import reads it all.
 */
export interface DiskArchive {
  /** The raw disk's size (a sparse entry's real size). */
  diskSizeBytes: number;
  /** Bytes the entry stores (less than diskSizeBytes when sparse). */
  storedBytes: number;
  sparse: boolean;
}

/** The archive is not an image GCE would make; `code` and `message` are the operation's error. */
export class InvalidImageArchive extends Error {
  constructor(
    message: string,
    readonly code = 'INVALID_IMAGE_TAR',
  ) {
    super(message);
  }
}

const gib = 1024 ** 3;
const notAnImage = 'The tar archive is not a valid image.';

/** Reads an archive stream and says what disk it holds, or throws InvalidImageArchive. */
export async function checkDiskArchive(source: AsyncIterable<Buffer>): Promise<DiskArchive> {
  const reader = new TarReader();
  // pipeline rejects with its own AbortError when the last stage throws: keep the parser's reason
  let refused: InvalidImageArchive | undefined;
  try {
    await pipeline(Readable.from(source), createGunzip(), async (tar: AsyncIterable<Buffer>) => {
      for await (const chunk of tar) {
        try {
          reader.push(chunk);
        } catch (e) {
          if (e instanceof InvalidImageArchive) refused = e;
          throw e;
        }
      }
    });
  } catch (e) {
    if (refused) throw refused;
    if (e instanceof InvalidImageArchive) throw e;
    throw new InvalidImageArchive(`${notAnImage} (${(e as Error).message})`);
  }
  return reader.finish();
}

type State =
  | { kind: 'header' }
  | { kind: 'longname'; left: number; name: Buffer[] }
  | { kind: 'sparse-extension'; entry: Entry }
  | { kind: 'data'; left: number; padding: number }
  | { kind: 'end' };

interface Entry {
  name: string;
  size: number;
  realSize: number;
  sparse: boolean;
  segments: { offset: number; bytes: number }[];
}

/** A streaming tar parser for the one-entry archives GCE imports (no copy of the entry's data). */
class TarReader {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private state: State = { kind: 'header' };
  private longName: string | undefined;
  private disk: Entry | undefined;
  private zeroBlocks = 0;

  push(chunk: Buffer): void {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    for (;;) {
      const s = this.state;
      if (s.kind === 'data') {
        // skip the entry's data (and its padding to 512) as it comes, without keeping it
        const skip = Math.min(s.left + s.padding, this.pendingBytes);
        if (skip === 0) return;
        this.take(skip);
        const fromData = Math.min(skip, s.left);
        s.left -= fromData;
        s.padding -= skip - fromData;
        if (s.left + s.padding === 0) this.state = { kind: 'header' };
        continue;
      }
      if (s.kind === 'end') {
        this.take(this.pendingBytes); // zero padding after the end blocks
        return;
      }
      if (this.pendingBytes < 512) return;
      const block = this.take(512);
      if (s.kind === 'header') this.header(block);
      else if (s.kind === 'longname') {
        s.name.push(block.subarray(0, Math.min(512, s.left)));
        s.left -= Math.min(512, s.left);
        if (s.left === 0) {
          this.longName = cString(Buffer.concat(s.name));
          this.state = { kind: 'header' };
        }
      } else this.sparseExtension(s.entry, block);
    }
  }

  finish(): DiskArchive {
    const s = this.state;
    if (s.kind !== 'end' && s.kind !== 'header')
      throw new InvalidImageArchive(`${notAnImage} (it ends inside an entry)`);
    if (!this.disk) throw new InvalidImageArchive(`${notAnImage} (it holds no file)`);
    const disk = this.disk;
    if (disk.realSize === 0 || disk.realSize % gib !== 0)
      throw new InvalidImageArchive(
        `The disk image must have a size that is a multiple of 1 GB; disk.raw is ${disk.realSize} bytes.`,
        'INVALID_IMAGE_FILE',
      );
    return { diskSizeBytes: disk.realSize, storedBytes: disk.size, sparse: disk.sparse };
  }

  private take(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    let at = 0;
    while (at < n) {
      const head = this.pending[0]!;
      const used = Math.min(head.length, n - at);
      head.copy(out, at, 0, used);
      at += used;
      if (used === head.length) this.pending.shift();
      else this.pending[0] = head.subarray(used);
    }
    this.pendingBytes -= n;
    return out;
  }

  private header(block: Buffer): void {
    if (block.every((b) => b === 0)) {
      if (++this.zeroBlocks === 2) this.state = { kind: 'end' };
      return;
    }
    if (this.zeroBlocks > 0)
      throw new InvalidImageArchive(`${notAnImage} (data after its end-of-archive block)`);
    if (!checksumOk(block)) throw new InvalidImageArchive(`${notAnImage} (a header's checksum is wrong)`);
    const magic = block.toString('latin1', 257, 265);
    const gnu = magic === 'ustar  \0';
    if (!gnu && magic !== 'ustar\u000000')
      throw new InvalidImageArchive(`${notAnImage} (not a GNU or ustar archive)`);
    const type = String.fromCharCode(block[156]!);
    const size = numeric(block.subarray(124, 136));
    if (type === 'x' || type === 'g')
      throw new InvalidImageArchive(`${notAnImage} (pax headers: write it with tar --format=oldgnu)`);
    if (type === 'L' && gnu) {
      this.state = { kind: 'longname', left: size, name: [] };
      if (size === 0) this.state = { kind: 'header' };
      return;
    }
    let name = this.longName ?? cString(block.subarray(0, 100));
    if (!gnu && !this.longName) {
      const prefix = cString(block.subarray(345, 500));
      if (prefix) name = `${prefix}/${name}`;
    }
    this.longName = undefined;
    if (this.disk) throw new InvalidImageArchive(`${notAnImage} (it holds more than disk.raw: ${name})`);
    if (name !== 'disk.raw')
      throw new InvalidImageArchive(
        `The file inside the tar archive was named '${name}'. It should be named 'disk.raw'.`,
      );
    if (type !== '0' && type !== '\0' && !(type === 'S' && gnu))
      throw new InvalidImageArchive(`${notAnImage} (disk.raw is not a regular file: type '${type}')`);
    const entry: Entry = { name, size, realSize: size, sparse: type === 'S', segments: [] };
    this.disk = entry;
    if (entry.sparse) {
      entry.realSize = numeric(block.subarray(483, 495));
      readSparseEntries(block, 386, 4, entry);
      if (block[482]) {
        this.state = { kind: 'sparse-extension', entry };
        return;
      }
      checkSparseMap(entry);
    }
    this.startData(size);
  }

  private sparseExtension(entry: Entry, block: Buffer): void {
    readSparseEntries(block, 0, 21, entry);
    if (block[504]) return; // another extension block follows
    checkSparseMap(entry);
    this.startData(entry.size);
  }

  private startData(size: number): void {
    this.state =
      size > 0 ? { kind: 'data', left: size, padding: (512 - (size % 512)) % 512 } : { kind: 'header' };
  }
}

function readSparseEntries(block: Buffer, at: number, count: number, entry: Entry): void {
  for (let i = 0; i < count; i++) {
    const offset = block.subarray(at + i * 24, at + i * 24 + 12);
    const bytes = block.subarray(at + i * 24 + 12, at + i * 24 + 24);
    if (offset[0] === 0 && bytes[0] === 0) continue;
    entry.segments.push({ offset: numeric(offset), bytes: numeric(bytes) });
  }
}

/** The map must describe the stored data exactly, in order, inside the disk. */
function checkSparseMap(entry: Entry): void {
  let stored = 0;
  let end = 0;
  for (const { offset, bytes } of entry.segments) {
    if (offset < end || offset + bytes > entry.realSize)
      throw new InvalidImageArchive(`${notAnImage} (disk.raw's sparse map is out of order or past its size)`);
    end = offset + bytes;
    stored += bytes;
  }
  if (stored !== entry.size)
    throw new InvalidImageArchive(
      `${notAnImage} (disk.raw's sparse map holds ${stored} bytes, its entry ${entry.size})`,
    );
}

function cString(b: Buffer): string {
  const nul = b.indexOf(0);
  return b.toString('utf8', 0, nul === -1 ? b.length : nul);
}

/** A tar number: octal text, or GNU's base-256 (high bit set) for large sizes. */
function numeric(field: Buffer): number {
  if (field[0]! & 0x80) {
    let value = field[0]! & 0x7f;
    for (let i = 1; i < field.length; i++) value = value * 256 + field[i]!;
    return value;
  }
  const text = cString(field).trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text))
    throw new InvalidImageArchive(`${notAnImage} (a number field is not octal: ${text})`);
  return Number.parseInt(text, 8);
}

function checksumOk(block: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : block[i]!;
  const stored = cString(block.subarray(148, 156)).trim();
  return /^[0-7]+$/.test(stored) && Number.parseInt(stored, 8) === sum;
}
