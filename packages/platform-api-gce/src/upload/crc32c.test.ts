import { randomBytes } from 'node:crypto';
import { CRC32C } from '@google-cloud/storage';
import { describe, expect, it } from 'vitest';
import { crc32c, crc32cBase64 } from './crc32c.js';

describe('crc32c', () => {
  it('gives the check value of the Castagnoli CRC (RFC 3720 B.4) and its known vectors', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32c(Buffer.alloc(0))).toBe(0);
    expect(crc32c(Buffer.alloc(32, 0))).toBe(0x8a9136aa);
    expect(crc32c(Buffer.alloc(32, 0xff))).toBe(0x62a8ab43);
    expect(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => i)))).toBe(0x46dd794e);
  });

  it('is incremental: the CRC of a then b continues from the CRC of a, at any split', () => {
    const data = randomBytes(10_007);
    const whole = crc32c(data);
    for (const split of [0, 1, 7, 8, 9, 4096, 10_006, 10_007])
      expect(crc32c(data.subarray(split), crc32c(data.subarray(0, split)))).toBe(whole);
  });

  it('matches @google-cloud/storage’s own CRC32C (what GCS reports) in base64', () => {
    const data = randomBytes(1_000_003);
    const theirs = new CRC32C();
    theirs.update(data);
    expect(crc32cBase64(crc32c(data))).toBe(theirs.toString());
  });
});
