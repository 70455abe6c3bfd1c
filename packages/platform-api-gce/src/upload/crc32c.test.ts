import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { CRC32C } from '@google-cloud/storage';
import { describe, expect, it } from 'vitest';
import {
  crc32c,
  crc32cBase64,
  crc32cCombine,
  crc32cContinue,
  crc32Polynomial,
  crcCombine,
  withKnownCrc32c,
} from './crc32c.js';

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

  it('agrees with a bit-at-a-time CRC at every alignment and length around the 16-byte steps', () => {
    const bitwise = (data: Uint8Array) => {
      let c = ~0;
      for (const byte of data) {
        c ^= byte;
        for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
      }
      return ~c >>> 0;
    };
    const data = randomBytes(100);
    for (let offset = 0; offset < 5; offset++)
      for (let length = 0; offset + length <= 70; length++) {
        const view = data.subarray(offset, offset + length);
        expect(crc32c(view), `offset ${offset}, length ${length}`).toBe(bitwise(view));
      }
  });

  it('matches @google-cloud/storage’s own CRC32C (what GCS reports) in base64', () => {
    const data = randomBytes(1_000_003);
    const theirs = new CRC32C();
    theirs.update(data);
    expect(crc32cBase64(crc32c(data))).toBe(theirs.toString());
  });

  it('combines the CRCs of two parts into the CRC of both, for CRC-32C and zlib’s CRC-32', () => {
    const data = randomBytes(70_001);
    for (const split of [0, 1, 8, 32_768, 69_999, 70_001]) {
      const a = data.subarray(0, split);
      const b = data.subarray(split);
      expect(crc32cCombine(crc32c(a), crc32c(b), b.length)).toBe(crc32c(data));
      expect(crcCombine(crc32Polynomial, crc32(a), crc32(b), b.length)).toBe(crc32(data));
    }
    // lengths past 2^32 (images are GiBs): shifting by m then n zero bytes is shifting by m + n
    const x = 0x12345678;
    const shifted = crc32cCombine(crc32cCombine(x, 0, 2 ** 31 + 1), 0, 2 ** 31 + 2);
    expect(crc32cCombine(crc32cCombine(x, 0, 2 ** 32), 0, 3)).toBe(shifted);
    expect(crc32cCombine(x, 0, 2 ** 32 + 3)).toBe(shifted);
    expect(shifted).not.toBe(crc32cCombine(x, 0, 2 ** 32 + 4));
  });

  it('joins a remembered CRC instead of reading the bytes, and computes views of part of it', () => {
    const data = randomBytes(5000);
    const lie = withKnownCrc32c(Buffer.from(data), 0xdeadbeef);
    // the remembered value is what is used: a wrong one shows (so the memo cannot go unnoticed)
    expect(crc32cContinue(lie, 0)).toBe(0xdeadbeef);
    const right = withKnownCrc32c(Buffer.from(data), crc32c(data));
    const head = crc32c(Buffer.from('head'));
    expect(crc32cContinue(right, head)).toBe(crc32c(data, head));
    expect(crc32cContinue(lie.subarray(1), 7)).toBe(crc32c(data.subarray(1), 7));
  });
});
