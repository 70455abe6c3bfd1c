import { type Logger, PlatformApiError, sleep, throwIfAborted } from '@mantle/cluster';
import type { GceClients } from '../api/clients.js';
import { isRetryable, statusOf } from '../api/errors.js';
import { putChunk, queryUpload, type StorageObject, type UploadState } from '../api/storage.js';
import { crc32c, crc32cBase64, crc32cContinue } from './crc32c.js';

/** The bytes of `pieces` from `from` on, without copying (subarrays). */
function piecesFrom(pieces: readonly Buffer[], from: number): Buffer[] {
  const out: Buffer[] = [];
  let skip = from;
  for (const piece of pieces) {
    if (skip >= piece.length) {
      skip -= piece.length;
      continue;
    }
    out.push(skip ? piece.subarray(skip) : piece);
    skip = 0;
  }
  return out;
}

const lengthOf = (pieces: readonly Buffer[]) => pieces.reduce((n, b) => n + b.length, 0);

/** GCS wants every chunk but the last to be a multiple of 256 KiB. */
export const chunkQuantum = 256 * 1024;

/** Bytes of the object from some offset on: `startsAt` ≤ the offset asked for, `crc` of what precedes. */
export interface SourceFrom {
  stream: AsyncIterable<Buffer>;
  startsAt: number;
  /** CRC-32C of bytes [0, startsAt). */
  crc: number;
}

export interface ResumableUploadInput {
  clients: GceClients;
  /** The session URL (`startResumableUpload`), new or saved by an interrupted run. */
  session: string;
  /**
   * The object's bytes from `offset` or earlier: a plain file seeks to a checkpoint it knows the
   * CRC of; a stream made on the way (the raw disk's tar.gz) starts again at 0 and is skipped.
   */
  open(offset: number): SourceFrom;
  /**
   * Most bytes per request (a multiple of 256 KiB); one is held while the next is made. A request
   * goes as soon as the previous one is answered with what has been made by then (256 KiB at
   * least), so the server never waits for a whole chunk to be made and the last one is short.
   */
  chunkSize: number;
  signal: AbortSignal;
  log?: Logger;
  /** Bytes the server has acknowledged so far (resumed ones at once), for progress. */
  onAcknowledged?(offset: number, crc: number): void;
  /** Tries per chunk when the connection drops or GCS answers 5xx/429 (default 8). */
  attempts?: number;
}

export interface ResumableUploadResult {
  object: StorageObject;
  /** Bytes sent by this run (not the ones a previous run had sent). */
  bytesSent: number;
  /** Where this run started: what the server already had. */
  resumedAt: number;
  crc32c: string;
}

/** The session is gone (expired after a week, or cancelled): the upload must start again. */
export class UploadSessionExpiredError extends PlatformApiError {
  constructor(status: number) {
    super(
      { platform: 'gce', operation: 'storage.upload', status },
      'the resumable upload session is no longer valid',
    );
  }
}

function expired(e: unknown): boolean {
  const s = statusOf(e);
  return s === 404 || s === 410;
}

/**
 * Streams an object into a resumable upload session. Asks the session first how much it holds and
 * sends only the rest; a dropped connection or a 5xx mid-chunk asks again and resends from where
 * the server stopped. The last chunk carries the whole object's CRC-32C (`x-goog-hash`), which GCS
 * checks, and the finished object's `crc32c` is compared too. Memory: two chunks.
 */
export async function resumableUpload(input: ResumableUploadInput): Promise<ResumableUploadResult> {
  const { clients, session, signal } = input;
  if (input.chunkSize % chunkQuantum !== 0 || input.chunkSize <= 0)
    throw new Error(`chunk size ${input.chunkSize} is not a multiple of 256 KiB`);
  const attempts = input.attempts ?? 8;
  const ask = async (): Promise<UploadState> => {
    try {
      return await queryUpload(clients, session, { signal, log: input.log });
    } catch (e) {
      if (expired(e)) throw new UploadSessionExpiredError(statusOf(e)!);
      throw e;
    }
  };
  const first = await ask();
  const resumedAt = first.done ? Number(first.object.size ?? 0) : first.received;
  const source = input.open(resumedAt);
  if (source.startsAt > resumedAt) throw new Error('the source cannot start before what the server holds');
  let crc = source.crc;
  let position = source.startsAt;
  let bytesSent = 0;

  // Sends [offset, offset + data.length), final when `total` is given; resends what did not arrive.
  const send = async (
    data: Buffer[],
    offset: number,
    total?: number,
    hash?: string,
  ): Promise<UploadState> => {
    let sent = 0;
    const dataLength = lengthOf(data);
    for (let attempt = 1; ; attempt++) {
      throwIfAborted(signal, 'uploading');
      try {
        const rest = piecesFrom(data, sent);
        const state = await putChunk(
          clients,
          session,
          {
            data: rest,
            offset: offset + sent,
            ...(total !== undefined ? { total } : {}),
            ...(hash ? { crc32c: hash } : {}),
          },
          { signal, log: input.log },
        );
        bytesSent += dataLength - sent;
        if (state.done) return state;
        const held = state.received - offset;
        if (held >= dataLength) return state;
        if (held < sent)
          throw new Error(`the server lost bytes it had acknowledged (it holds ${state.received})`);
        sent = held; // it kept part of the chunk: send the rest
      } catch (e) {
        if (signal.aborted) throw e;
        if (expired(e)) throw new UploadSessionExpiredError(statusOf(e)!);
        if (!isRetryable(e) || attempt >= attempts) throw e;
        const delay = Math.min(30_000, 500 * 2 ** (attempt - 1));
        input.log?.info(`gce upload: chunk at ${offset + sent} failed; asking the session in ${delay}ms`, {
          error: e instanceof Error ? e.message : String(e),
        });
        await sleep(delay, signal);
        const state = await ask();
        if (state.done) return state;
        const held = state.received - offset;
        if (held < 0) throw new Error(`the server holds ${state.received} bytes, fewer than it acknowledged`);
        if (held >= dataLength && total === undefined) return state;
        sent = Math.min(held, dataLength);
      }
    }
  };

  let object: StorageObject | undefined = first.done ? first.object : undefined;
  if (!object) {
    input.onAcknowledged?.(resumedAt, resumedAt === source.startsAt ? source.crc : Number.NaN);
    // pieces of the stream not sent yet, from `position`
    const pending: Buffer[] = [];
    let pendingBytes = 0;
    let inflight: Promise<void> | undefined;
    // the first n bytes of what is pending, as the pieces they came in (no copy)
    const take = (n: number): Buffer[] => {
      const out: Buffer[] = [];
      let want = n;
      while (want > 0) {
        const head = pending[0]!;
        if (head.length <= want) {
          out.push(head);
          pending.shift();
          want -= head.length;
        } else {
          out.push(head.subarray(0, want));
          pending[0] = head.subarray(want);
          want = 0;
        }
      }
      pendingBytes -= n;
      return out;
    };
    const crcOf = (pieces: readonly Buffer[], from: number) =>
      pieces.reduce((c, p) => crc32cContinue(p, c), from);
    let serverIdle = true;
    let sourceEnded = false;
    // A request goes as soon as the server is free, with what has been made by then (at most a
    // chunk, whole 256 KiB units, one byte at least kept back so that the last request is known to
    // be the last): the server never waits for a whole chunk to be made, and the last request is
    // short. Self-clocking: a slow server gets bigger requests, a slow source smaller ones.
    const sendPending = () => {
      const size = Math.min(input.chunkSize, Math.floor((pendingBytes - 1) / chunkQuantum) * chunkQuantum);
      const chunk = take(size);
      const offset = position;
      crc = crcOf(chunk, crc);
      position += size;
      const crcAfter = crc;
      serverIdle = false;
      inflight = send(chunk, offset).then(() => {
        serverIdle = true;
        input.onAcknowledged?.(offset + size, crcAfter);
        // what was made meanwhile goes now, not when the next piece comes
        if (!sourceEnded && pendingBytes > chunkQuantum) sendPending();
      });
      inflight.catch(() => {}); // seen when awaited
    };
    for await (const raw of source.stream) {
      let piece = raw;
      // the part the server already holds is only counted into the CRC
      if (position < resumedAt) {
        const skip = Math.min(piece.length, resumedAt - position);
        crc = skip === piece.length ? crc32cContinue(piece, crc) : crc32c(piece.subarray(0, skip), crc);
        position += skip;
        piece = piece.subarray(skip);
      }
      if (!piece.length) continue;
      pending.push(piece);
      pendingBytes += piece.length;
      for (;;) {
        if (serverIdle && pendingBytes > chunkQuantum) sendPending();
        // memory: one request under way and at most a chunk made ahead of it
        else if (pendingBytes > input.chunkSize) await inflight;
        else break;
      }
    }
    sourceEnded = true;
    if (position < resumedAt) throw new Error('the source ended before the bytes the server already holds');
    while (!serverIdle) await inflight;
    const last = take(pendingBytes);
    crc = crcOf(last, crc);
    const total = position + lengthOf(last);
    const state = await send(last, position, total, crc32cBase64(crc));
    if (!state.done)
      throw new Error(`the upload did not finish after its last chunk (server holds ${state.received})`);
    object = state.object;
    input.onAcknowledged?.(total, crc);
  } else {
    // finished by an earlier run: the CRC is known only by reading the source again
    for await (const piece of source.stream) crc = crc32cContinue(piece, crc);
  }
  const ours = crc32cBase64(crc);
  if (object.crc32c && object.crc32c !== ours)
    throw new PlatformApiError(
      { platform: 'gce', operation: 'storage.upload', providerCode: 'crc32cMismatch' },
      `gs://${object.bucket}/${object.name}: CRC-32C ${object.crc32c} is not the ${ours} that was sent`,
    );
  return { object, bytesSent, resumedAt, crc32c: ours };
}
