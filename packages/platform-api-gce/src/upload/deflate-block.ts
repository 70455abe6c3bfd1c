import { constants, deflateRawSync } from 'node:zlib';

// One block of the parallel gzip, deflated as raw deflate that continues the stream before it. Parts
// of the block that do not compress (already-compressed files in the image, random data) are stored
// instead: zlib spends longer on incompressible bytes than on text (about 50 MB/s here) only to emit
// them stored, so finding them first by sampling, as btrfs's compression heuristic does (byte
// entropy and repeated sequences of small samples), makes the same stream within a few bytes many
// times faster on such data. The output depends only on the input: a resumed upload that makes the
// stream again gets the same bytes.

/** Deflate's window: what a back-reference can reach, so what each piece takes as dictionary. */
export const deflateWindow = 32 * 1024;
/** Decisions (compress or store) are made per this many input bytes, finer where a unit is mixed. */
export const storeUnit = 128 * 1024;
/** The finest a mixed unit is split to; a mixed part this small is compressed. */
const finestUnit = 8 * 1024;
const sampleSize = 1024;
/**
 * Bits per byte above which a sample's bytes are too even for Huffman coding to gain more than about
 * 5 % (a sample of random bytes measures about 7.8 for its size).
 */
const incompressibleEntropy = 7.6;
/** Repeated 4-byte sequences (what deflate's matches need) beyond this share mean compressible. */
const repeatShare = 1 / 64;

export interface DeflateBlockInput {
  input: Uint8Array;
  /** Up to 32 KiB of input just before this block (none for the first block). */
  dictionary?: Uint8Array | undefined;
  level: number;
  /** The last block ends the deflate stream (final block); the others end with a sync flush. */
  last: boolean;
}

const counts = new Uint32Array(256);
const nLog2n = Float64Array.from({ length: sampleSize + 1 }, (_, n) => (n ? n * Math.log2(n) : 0));
const seenValue = new Int32Array(4096);
const seenMark = new Uint32Array(4096);
let sampleNo = 0;

/** Whether deflate would gain (next to) nothing on `sample` (`sampleSize` bytes): JavaScript, no zlib call. */
export function sampleIncompressible(sample: Uint8Array): boolean {
  const n = sample.length;
  counts.fill(0);
  for (let i = 0; i < n; i++) counts[sample[i]!]!++;
  let sum = 0;
  for (let b = 0; b < 256; b++) sum += nLog2n[counts[b]!]!;
  if (Math.log2(n) - sum / n < incompressibleEntropy) return false;
  // even bytes, but text in a script or repeated records may still repeat: count 4-byte sequences
  // seen before in the sample (a table of the last value per hash, marked with the sample's number)
  const mark = ++sampleNo;
  let repeats = 0;
  for (let i = 0; i + 4 <= n; i++) {
    const value = sample[i]! | (sample[i + 1]! << 8) | (sample[i + 2]! << 16) | (sample[i + 3]! << 24);
    const h = Math.imul(value, 0x9e3779b1) >>> 20;
    if (seenMark[h] === mark && seenValue[h] === value) repeats++;
    seenMark[h] = mark;
    seenValue[h] = value;
  }
  return repeats < n * repeatShare;
}

type Run = { start: number; end: number; store: boolean };

/**
 * Which parts of `input` [start, end) to store: samples at the start, middle and end of the range
 * decide it when they agree; a range where they disagree (data of both kinds) is halved, down to
 * 8 KiB, so that a boundary costs at most that much compressed for nothing. A half reuses the vote
 * of the sample it shares with the whole.
 */
export function classify(input: Uint8Array, start: number, end: number, out: Run[] = []): Run[] {
  const push = (s: number, e: number, store: boolean) => {
    const previous = out.at(-1);
    if (previous && previous.store === store && previous.end === s) previous.end = e;
    else out.push({ start: s, end: e, store });
  };
  const vote = (at: number) => sampleIncompressible(input.subarray(at, at + sampleSize));
  const visit = (s: number, e: number, first: boolean | undefined, last: boolean | undefined) => {
    const length = e - s;
    if (length < 4 * sampleSize) return push(s, e, false);
    const votes = [first ?? vote(s), vote(s + ((length - sampleSize) >> 1)), last ?? vote(e - sampleSize)];
    if (votes.every(Boolean)) return push(s, e, true);
    if (!votes.some(Boolean) || length <= finestUnit) return push(s, e, false);
    const middle = s + Math.ceil(length / 2 / 512) * 512;
    visit(s, middle, votes[0], undefined);
    visit(middle, e, undefined, votes[2]);
  };
  visit(start, end, undefined, undefined);
  return out;
}

/** The block's raw deflate bytes, as one buffer. */
export function deflateBlock({ input, dictionary, level, last }: DeflateBlockInput): Uint8Array {
  // runs of the same decision, unit by unit
  const runs: Array<{ start: number; end: number; store: boolean }> = [];
  for (let start = 0; start < input.length; start += storeUnit)
    classify(input, start, Math.min(input.length, start + storeUnit), runs);
  if (!runs.length) runs.push({ start: 0, end: 0, store: false });
  const pieces = runs.map((run, i) => {
    const final = last && i === runs.length - 1;
    return deflateRawSync(input.subarray(run.start, run.end), {
      level: run.store ? 0 : level,
      ...(run.store ? {} : windowBefore(input, run.start, dictionary)),
      finishFlush: final ? constants.Z_FINISH : constants.Z_SYNC_FLUSH,
    });
  });
  const out = new Uint8Array(pieces.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const piece of pieces) {
    out.set(piece, at);
    at += piece.length;
  }
  return out;
}

/** The 32 KiB of input before `start`: the block's own bytes, preceded by the dictionary if short. */
function windowBefore(
  input: Uint8Array,
  start: number,
  dictionary: Uint8Array | undefined,
): { dictionary?: Uint8Array } {
  if (start >= deflateWindow) return { dictionary: input.subarray(start - deflateWindow, start) };
  const own = input.subarray(0, start);
  if (!dictionary?.length) return own.length ? { dictionary: own } : {};
  const need = Math.min(dictionary.length, deflateWindow - own.length);
  const window = new Uint8Array(need + own.length);
  window.set(dictionary.subarray(dictionary.length - need), 0);
  window.set(own, need);
  return { dictionary: window };
}
