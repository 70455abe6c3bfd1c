import { open } from 'node:fs/promises';
import { UsageError } from '@mantle/cluster';

export interface ImageInfo {
  path: string;
  format: 'raw' | 'vmdk';
  /** Bytes in the file. */
  size: number;
  /** Bytes of the disk the image describes (the file size for raw, the VMDK capacity otherwise). */
  diskSize: number;
  /** When the file last changed (the VMDK made from it is the same while this is). */
  mtimeMs: number;
}

/** Formats people upload by mistake, by magic at the start of the file. */
const refusedMagic: Array<[Buffer, string]> = [
  [Buffer.from('QFI\xfb', 'latin1'), 'a qcow2 image (convert it with `qemu-img convert -O raw`)'],
  [Buffer.from('vhdxfile'), 'a VHDX image (convert it with `qemu-img convert -O raw`)'],
  [Buffer.from('conectix'), 'a VHD image (convert it with `qemu-img convert -O raw`)'],
  [Buffer.from([0x1f, 0x8b]), 'gzip-compressed (decompress it first)'],
  [Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), 'xz-compressed (decompress it first)'],
  [Buffer.from('BZh'), 'bzip2-compressed (decompress it first)'],
  [Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), 'zstd-compressed (decompress it first)'],
];

const vmdkMagic = Buffer.from('KDMV');

/**
 * Checks that `path` is a raw disk image or a VMDK (sparse extent, magic `KDMV`) and measures it.
 * Every problem is a UsageError naming the flag and the file.
 */
export async function inspectImage(path: string, flag = '--file'): Promise<ImageInfo> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EACCES' || code === 'EPERM'
          ? 'permission denied'
          : code === 'EISDIR'
            ? 'is a directory'
            : ((e as Error).message ?? String(e));
    throw new UsageError(`${flag} ${path}: ${why}`);
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new UsageError(`${flag} ${path}: not a regular file`);
    const size = stat.size;
    if (size === 0) throw new UsageError(`${flag} ${path}: the file is empty`);
    const head = Buffer.alloc(Math.min(512, size));
    try {
      await handle.read(head, 0, head.length, 0);
    } catch (e) {
      throw new UsageError(`${flag} ${path}: cannot read: ${(e as Error).message}`);
    }
    if (head.subarray(0, 4).equals(vmdkMagic)) {
      if (size % 512 !== 0)
        throw new UsageError(
          `${flag} ${path}: VMDK size ${size} is not a multiple of 512 bytes (truncated?)`,
        );
      // SparseExtentHeader: capacity (sectors) is the little-endian uint64 at offset 12.
      const sectors = head.length >= 20 ? head.readBigUInt64LE(12) : 0n;
      if (sectors === 0n) throw new UsageError(`${flag} ${path}: VMDK header has no capacity`);
      return { path, format: 'vmdk', size, diskSize: Number(sectors) * 512, mtimeMs: stat.mtimeMs };
    }
    if (/\.vmdk$/i.test(path))
      throw new UsageError(`${flag} ${path}: named .vmdk but has no VMDK magic "KDMV" (not a sparse VMDK)`);
    for (const [magic, what] of refusedMagic)
      if (head.length >= magic.length && head.subarray(0, magic.length).equals(magic))
        throw new UsageError(`${flag} ${path}: ${what}; upload takes a raw or VMDK image`);
    if (size >= 512) {
      // A VHD has its footer at the end.
      const tail = Buffer.alloc(8);
      await handle.read(tail, 0, 8, size - 512);
      if (tail.equals(Buffer.from('conectix')))
        throw new UsageError(`${flag} ${path}: a VHD image; upload takes a raw or VMDK image`);
    }
    if (size % 512 !== 0)
      throw new UsageError(
        `${flag} ${path}: size ${size} is not a multiple of 512 bytes, so not a raw disk image`,
      );
    return { path, format: 'raw', size, diskSize: size, mtimeMs: stat.mtimeMs };
  } finally {
    await handle.close();
  }
}
