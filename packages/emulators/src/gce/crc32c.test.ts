import { createHash, randomBytes } from 'node:crypto';
import { CRC32C } from '@google-cloud/storage';
import { describe, expect, it } from 'vitest';
import { crc32cBase64, crc32cUpdate, ObjectHasher } from './crc32c.js';

describe('CRC32C', () => {
  it('gives the check value of the Castagnoli polynomial ("123456789" → 0xE3069283)', () => {
    expect(crc32cUpdate(0, Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32cUpdate(0, Buffer.alloc(0))).toBe(0);
    expect(crc32cUpdate(0, Buffer.alloc(32))).toBe(0x8a9136aa); // RFC 3720 B.4: 32 zero bytes
    expect(crc32cUpdate(0, Buffer.alloc(32, 0xff))).toBe(0x62a8ab43);
  });

  it('agrees with the storage SDK over random data of every length up to 64, in pieces too', () => {
    for (let n = 0; n <= 64; n++) {
      const data = randomBytes(n);
      const sdk = new CRC32C();
      sdk.update(data);
      expect(crc32cBase64(crc32cUpdate(0, data))).toBe(sdk.toString());
      const cut = Math.floor(n / 3);
      expect(crc32cUpdate(crc32cUpdate(0, data.subarray(0, cut)), data.subarray(cut))).toBe(
        crc32cUpdate(0, data),
      );
    }
  });

  it('ObjectHasher gives GCS spellings of CRC32C and MD5 and the size', () => {
    const data = randomBytes(1_000_003);
    const h = new ObjectHasher();
    h.update(data.subarray(0, 77));
    h.update(data.subarray(77));
    const sdk = new CRC32C();
    sdk.update(data);
    expect(h.digest()).toEqual({
      crc32c: sdk.toString(),
      md5Hash: createHash('md5').update(data).digest('base64'),
      size: data.length,
    });
  });
});
