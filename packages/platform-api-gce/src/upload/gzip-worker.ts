import { parentPort } from 'node:worker_threads';
import { crc32 } from 'node:zlib';
import { crc32c } from './crc32c.js';
import { type DeflateBlockInput, deflateBlock } from './deflate-block.js';

// A thread of the parallel gzip (parallel-gzip.ts): deflates the blocks it is sent, in order, and
// checksums them (the input's CRC-32 for the gzip trailer, the output's CRC-32C for Cloud Storage),
// so that the main thread, which also sends, only joins the CRCs.

export interface GzipJob extends DeflateBlockInput {
  id: number;
}
export type GzipAnswer =
  | { id: number; output: Uint8Array; inputCrc32: number; outputCrc32c: number }
  | { id: number; error: string };

parentPort?.on('message', (job: GzipJob) => {
  let answer: GzipAnswer;
  try {
    const inputCrc32 = crc32(job.input);
    const output = deflateBlock(job);
    answer = { id: job.id, output, inputCrc32, outputCrc32c: crc32c(output) };
  } catch (e) {
    answer = { id: job.id, error: e instanceof Error ? e.message : String(e) };
  }
  parentPort?.postMessage(answer, 'output' in answer ? [answer.output.buffer as ArrayBuffer] : []);
});
