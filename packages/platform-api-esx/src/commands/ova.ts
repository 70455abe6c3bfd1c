import { type FileHandle, open } from 'node:fs/promises';
import { ConfigError } from '@mantle/cluster';

/** One member of an OVA (a POSIX tar): where its bytes are in the file. */
export interface OvaEntry {
  name: string;
  offset: number;
  size: number;
}

/**
 * The members of an OVA, read from its tar headers (ustar, with pax `path` records), without
 * extracting anything: disks are streamed from their offsets straight into the lease's upload.
 */
export async function readOvaEntries(path: string): Promise<OvaEntry[]> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw new ConfigError(`--file ${path}: cannot open: ${(e as NodeJS.ErrnoException).code ?? e}`);
  }
  try {
    const { size: fileSize } = await fh.stat();
    const entries: OvaEntry[] = [];
    const header = Buffer.alloc(512);
    let pos = 0;
    let paxPath: string | undefined;
    while (pos + 512 <= fileSize) {
      await fh.read(header, 0, 512, pos);
      if (header.every((b) => b === 0)) break;
      const field = (start: number, len: number) =>
        header
          .subarray(start, start + len)
          .toString('utf8')
          .replace(/\0.*$/s, '');
      const size = Number.parseInt(field(124, 12).trim() || '0', 8);
      if (!Number.isFinite(size) || (field(257, 5) !== 'ustar' && !/^[0-7 \0]+$/.test(field(148, 8)))) {
        throw new ConfigError(`--file ${path}: not an OVA (no tar header at byte ${pos})`);
      }
      const type = String.fromCharCode(header[156] ?? 0);
      const prefix = field(345, 155);
      const name = paxPath ?? (prefix ? `${prefix}/${field(0, 100)}` : field(0, 100));
      const dataAt = pos + 512;
      if (type === 'x') {
        const pax = Buffer.alloc(size);
        await fh.read(pax, 0, size, dataAt);
        paxPath = /\d+ path=([^\n]*)\n/.exec(pax.toString('utf8'))?.[1];
      } else {
        if (type === '0' || type === '\0') entries.push({ name, offset: dataAt, size });
        paxPath = undefined;
      }
      pos = dataAt + Math.ceil(size / 512) * 512;
    }
    if (!entries.some((e) => e.name.endsWith('.ovf'))) {
      throw new ConfigError(`--file ${path}: no .ovf descriptor in the OVA`);
    }
    return entries;
  } finally {
    await fh.close();
  }
}

/** Writes a tar of the given members (tests, and nothing else needs to make one). */
export function tarOf(files: { name: string; data: Buffer }[]): Buffer {
  const parts: Buffer[] = [];
  for (const f of files) {
    const h = Buffer.alloc(512);
    h.write(f.name, 0, 100);
    h.write('0000644\0', 100);
    h.write('0000000\0', 108);
    h.write('0000000\0', 116);
    h.write(`${f.data.length.toString(8).padStart(11, '0')}\0`, 124);
    h.write(
      `${Math.floor(Date.now() / 1000)
        .toString(8)
        .padStart(11, '0')}\0`,
      136,
    );
    h.write('        ', 148);
    h.write('0', 156);
    h.write('ustar\0', 257);
    h.write('00', 263);
    let sum = 0;
    for (const b of h) sum += b;
    h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
    parts.push(h, f.data, Buffer.alloc((512 - (f.data.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}
