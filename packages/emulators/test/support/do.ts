import type { DoEmulator } from '../../src/do/emulator.js';

export interface DoAnswer {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: tests read whatever the API answered
  body: any;
}

/** Plain fetch against the emulated API, with its token (or another, or none). */
export function doFetch(emulator: DoEmulator, token: string | null = emulator.token) {
  return async (method: string, path: string, body?: unknown): Promise<DoAnswer> => {
    const headers: Record<string, string> = {};
    if (token !== null) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const r = await fetch(`${emulator.endpoint}${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await r.text();
    return { status: r.status, headers: r.headers, body: text ? JSON.parse(text) : undefined };
  };
}

/** Polls until `done` holds for the answer (bounded), returning every status seen on the way. */
export async function pollUntil(
  get: () => Promise<DoAnswer>,
  done: (a: DoAnswer) => boolean,
  timeoutMs = 20_000,
): Promise<DoAnswer> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const answer = await get();
    if (done(answer)) return answer;
    if (Date.now() > end)
      throw new Error(`still not there after ${timeoutMs} ms: ${JSON.stringify(answer.body)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
