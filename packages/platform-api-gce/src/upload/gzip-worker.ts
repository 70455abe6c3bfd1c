import { parentPort } from 'node:worker_threads';
import { type DeflateBlockInput, deflateBlock } from './deflate-block.js';

// A thread of the parallel gzip (parallel-gzip.ts): deflates the blocks it is sent, in order.

export interface GzipJob extends DeflateBlockInput {
  id: number;
}
export type GzipAnswer = { id: number; output: Uint8Array } | { id: number; error: string };

parentPort?.on('message', (job: GzipJob) => {
  let answer: GzipAnswer;
  try {
    answer = { id: job.id, output: deflateBlock(job) };
  } catch (e) {
    answer = { id: job.id, error: e instanceof Error ? e.message : String(e) };
  }
  parentPort?.postMessage(answer, 'output' in answer ? [answer.output.buffer as ArrayBuffer] : []);
});
