import { randomBytes } from 'node:crypto';

/**
 * Fixed VHD (Microsoft's Virtual Hard Disk Image Format Specification, the footer only): Azure boots
 * page blobs that are a fixed VHD whose virtual size is a whole number of MiB.
 */
export const footerBytes = 512;
export const mib = 1024 * 1024;
const cookie = 'conectix';
const fixedDiskType = 2;
const vhdEpoch = Date.UTC(2000, 0, 1);

/** The disk size Azure accepts for `bytes` of data: rounded up to a whole MiB (at least one). */
export function alignedDiskSize(bytes: number): number {
  return Math.max(mib, Math.ceil(bytes / mib) * mib);
}

/** The footer's geometry field, by the specification's CHS algorithm. */
function geometry(size: number): { cylinders: number; heads: number; sectors: number } {
  const total = Math.min(Math.floor(size / 512), 65535 * 16 * 255);
  let sectors: number;
  let heads: number;
  let cylTimesHeads: number;
  if (total >= 65535 * 16 * 63) {
    sectors = 255;
    heads = 16;
    cylTimesHeads = Math.floor(total / sectors);
  } else {
    sectors = 17;
    cylTimesHeads = Math.floor(total / sectors);
    heads = Math.max(4, Math.floor((cylTimesHeads + 1023) / 1024));
    if (cylTimesHeads >= heads * 1024 || heads > 16) {
      sectors = 31;
      heads = 16;
      cylTimesHeads = Math.floor(total / sectors);
    }
    if (cylTimesHeads >= heads * 1024) {
      sectors = 63;
      heads = 16;
      cylTimesHeads = Math.floor(total / sectors);
    }
  }
  return { cylinders: Math.floor(cylTimesHeads / heads), heads, sectors };
}

/** One's complement of the sum of the footer's bytes, the checksum field counted as zero. */
export function footerChecksum(footer: Buffer): number {
  let sum = 0;
  for (let i = 0; i < footerBytes; i++) if (i < 64 || i >= 68) sum += footer[i]!;
  return ~sum >>> 0;
}

/** The footer of a fixed VHD whose data is `size` bytes (a multiple of 512). */
export function fixedVhdFooter(size: number, now = Date.now()): Buffer {
  const f = Buffer.alloc(footerBytes);
  f.write(cookie, 0, 'ascii');
  f.writeUInt32BE(2, 8); // features: reserved bit, always set
  f.writeUInt32BE(0x00010000, 12); // format version 1.0
  f.writeBigUInt64BE(0xffffffffffffffffn, 16); // data offset: none for a fixed disk
  f.writeUInt32BE(Math.max(0, Math.floor((now - vhdEpoch) / 1000)), 24);
  f.write('mntl', 28, 'ascii'); // creator application
  f.writeUInt32BE(0x00010000, 32);
  f.write('Wi2k', 36, 'ascii'); // creator host OS, as Azure's tools write it
  f.writeBigUInt64BE(BigInt(size), 40); // original size
  f.writeBigUInt64BE(BigInt(size), 48); // current size
  const g = geometry(size);
  f.writeUInt16BE(g.cylinders, 56);
  f.writeUInt8(g.heads, 58);
  f.writeUInt8(g.sectors, 59);
  f.writeUInt32BE(fixedDiskType, 60);
  randomBytes(16).copy(f, 68); // unique id
  f.writeUInt32BE(footerChecksum(f), 64);
  return f;
}

export interface VhdFooter {
  diskType: number;
  currentSize: number;
  checksumOk: boolean;
}

/** The footer's fields, or undefined when `footer` has no VHD cookie. */
export function parseVhdFooter(footer: Buffer): VhdFooter | undefined {
  if (footer.length !== footerBytes || footer.toString('ascii', 0, 8) !== cookie) return undefined;
  return {
    diskType: footer.readUInt32BE(60),
    currentSize: Number(footer.readBigUInt64BE(48)),
    checksumOk: footer.readUInt32BE(64) === footerChecksum(footer),
  };
}

/** Why Azure would refuse this fixed VHD (file size `fileSize`, its last 512 bytes `footer`), or undefined. */
export function vhdProblem(fileSize: number, footer: Buffer): string | undefined {
  const parsed = parseVhdFooter(footer);
  if (!parsed) return 'no VHD footer (the last 512 bytes do not start with "conectix")';
  if (!parsed.checksumOk) return 'the VHD footer checksum is wrong';
  if (parsed.diskType !== fixedDiskType)
    return `disk type ${parsed.diskType} is not a fixed VHD (2): Azure boots fixed VHDs only`;
  if (parsed.currentSize !== fileSize - footerBytes)
    return `the footer says ${parsed.currentSize} bytes of data, the file has ${fileSize - footerBytes}`;
  if (parsed.currentSize % mib !== 0)
    return `the virtual size ${parsed.currentSize} is not a whole number of MiB, as Azure requires`;
  return undefined;
}
