import { randomBytes } from 'node:crypto';
import { gunzipSync, gzipSync, inflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { classify, deflateBlock, sampleIncompressible } from './deflate-block.js';
import { parallelGzip } from './parallel-gzip.js';

const kib = 1024;
const text = (n: number) => Buffer.alloc(n, 'a line of a config file, key = value\n');

async function collect(source: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of source) parts.push(part);
  return Buffer.concat(parts);
}
async function* piecesOf(data: Buffer, size: number) {
  for (let at = 0; at < data.length; at += size) yield data.subarray(at, at + size);
}

describe('sampleIncompressible', () => {
  it('random bytes are; text, zeros and a repeated random pattern are not', () => {
    expect(sampleIncompressible(randomBytes(kib))).toBe(true);
    expect(sampleIncompressible(text(kib))).toBe(false);
    expect(sampleIncompressible(Buffer.alloc(kib))).toBe(false);
    // even bytes (high entropy) that deflate still compresses: found by the repeats
    const pattern = randomBytes(256);
    expect(sampleIncompressible(Buffer.concat([pattern, pattern, pattern, pattern]))).toBe(false);
  });
});

describe('classify', () => {
  it('stores the random parts and compresses the rest, boundaries to within 8 KiB', () => {
    const data = Buffer.concat([text(100 * kib), randomBytes(300 * kib), text(112 * kib)]);
    const runs = classify(data, 0, 128 * kib).concat(
      classify(data, 128 * kib, 256 * kib),
      classify(data, 256 * kib, 384 * kib),
      classify(data, 384 * kib, 512 * kib),
    );
    const stored = runs.filter((r) => r.store).reduce((n, r) => n + r.end - r.start, 0);
    expect(stored).toBeGreaterThan(300 * kib - 16 * kib);
    expect(stored).toBeLessThanOrEqual(300 * kib);
    for (const r of runs.filter((r) => r.store)) {
      expect(r.start).toBeGreaterThanOrEqual(100 * kib);
      expect(r.end).toBeLessThanOrEqual(400 * kib);
    }
  });
});

describe('deflateBlock', () => {
  it('continues the stream: blocks with their dictionaries inflate to the input, no bigger than gzip -6 + 1 %', () => {
    const data = Buffer.concat([
      text(200 * kib),
      randomBytes(333 * kib),
      Buffer.alloc(64 * kib),
      text(50 * kib),
      randomBytes(10 * kib),
      text(400 * kib),
    ]);
    const block = 256 * kib;
    const parts: Uint8Array[] = [];
    for (let at = 0; at < data.length; at += block)
      parts.push(
        deflateBlock({
          input: data.subarray(at, at + block),
          dictionary: at ? data.subarray(at - 32 * kib, at) : undefined,
          level: 6,
          last: at + block >= data.length,
        }),
      );
    const stream = Buffer.concat(parts);
    expect(inflateRawSync(stream).equals(data)).toBe(true);
    expect(stream.length).toBeLessThanOrEqual(gzipSync(data, { level: 6 }).length * 1.01);
  });
});

describe('parallelGzip', () => {
  it('the same bytes whatever the threads; gunzip gives the input back', async () => {
    const data = Buffer.concat([randomBytes(700 * kib), text(900 * kib), randomBytes(5), text(3)]);
    const one = await collect(parallelGzip(piecesOf(data, 100_000), { blockSize: 128 * kib, parallel: 1 }));
    const three = await collect(parallelGzip(piecesOf(data, 77_777), { blockSize: 128 * kib, parallel: 3 }));
    expect(three.equals(one)).toBe(true);
    expect(gunzipSync(one).equals(data)).toBe(true);
  });

  it('an empty input is an empty gzip', async () => {
    expect(gunzipSync(await collect(parallelGzip(piecesOf(Buffer.alloc(0), 1)))).length).toBe(0);
  });

  it('an abort stops it and its threads', async () => {
    const controller = new AbortController();
    const data = randomBytes(2048 * kib);
    const stream = parallelGzip(piecesOf(data, 64 * kib), { blockSize: 64 * kib, signal: controller.signal });
    await stream.next();
    controller.abort(new Error('stop'));
    await expect(collect(stream)).rejects.toThrow();
  });
});
