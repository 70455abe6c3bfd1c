import { readFileSync } from 'node:fs';

/**
 * One file of a `newc` cpio archive (the format of the test images' initramfs), or undefined. The
 * host has no cpio; the archive is read whole (the minimal image's is ~28 MB).
 */
export function cpioFile(archive: string, name: string): Buffer | undefined {
  const buf = readFileSync(archive);
  const pad4 = (n: number) => (n + 3) & ~3;
  for (let off = 0; off + 110 <= buf.length; ) {
    const header = buf.subarray(off, off + 110).toString('latin1');
    if (!header.startsWith('070701')) throw new Error(`${archive}: no newc cpio header at byte ${off}`);
    const field = (i: number) => Number.parseInt(header.slice(6 + i * 8, 14 + i * 8), 16);
    const size = field(6);
    const nameSize = field(11);
    const entry = buf.subarray(off + 110, off + 110 + nameSize - 1).toString();
    const data = off + pad4(110 + nameSize);
    if (entry === 'TRAILER!!!') return undefined;
    if (entry === name) return buf.subarray(data, data + size);
    off = pad4(data + size);
  }
  return undefined;
}
