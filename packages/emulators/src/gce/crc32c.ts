import { createHash, type Hash } from 'node:crypto';

// CRC32C (Castagnoli, reflected polynomial 0x82F63B78), as Cloud Storage checks objects with. Our
// own slicing-by-8 table code, not the SDK's: the emulator must catch a client whose CRC is wrong.

const tables: Uint32Array[] = (() => {
  const t = Array.from({ length: 8 }, () => new Uint32Array(256));
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[0]![n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++)
    for (let k = 1; k < 8; k++) t[k]![n] = (t[0]![t[k - 1]![n]! & 0xff]! ^ (t[k - 1]![n]! >>> 8)) >>> 0;
  return t;
})();

/** Continues a CRC32C over `data` (start with 0). */
export function crc32cUpdate(crc: number, data: Uint8Array): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = tables as [
    Uint32Array,
    Uint32Array,
    Uint32Array,
    Uint32Array,
    Uint32Array,
    Uint32Array,
    Uint32Array,
    Uint32Array,
  ];
  let c = ~crc >>> 0;
  let i = 0;
  const end8 = data.length - (data.length % 8);
  for (; i < end8; i += 8) {
    const lo = (c ^ (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24))) >>> 0;
    c =
      t7[lo & 0xff]! ^
      t6[(lo >>> 8) & 0xff]! ^
      t5[(lo >>> 16) & 0xff]! ^
      t4[lo >>> 24]! ^
      t3[data[i + 4]!]! ^
      t2[data[i + 5]!]! ^
      t1[data[i + 6]!]! ^
      t0[data[i + 7]!]!;
  }
  for (; i < data.length; i++) c = t0[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/** Cloud Storage's spelling of a CRC32C: the 4 big-endian bytes, base64. */
export function crc32cBase64(crc: number): string {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(crc >>> 0);
  return b.toString('base64');
}

/** CRC32C and MD5 of a byte stream, in Cloud Storage's base64 spellings. */
export class ObjectHasher {
  private crc = 0;
  private readonly md5: Hash = createHash('md5');
  size = 0;

  update(chunk: Uint8Array): void {
    this.crc = crc32cUpdate(this.crc, chunk);
    this.md5.update(chunk);
    this.size += chunk.length;
  }

  digest(): { crc32c: string; md5Hash: string; size: number } {
    return { crc32c: crc32cBase64(this.crc), md5Hash: this.md5.digest('base64'), size: this.size };
  }
}
