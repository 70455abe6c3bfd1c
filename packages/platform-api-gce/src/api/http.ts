import { AsyncLocalStorage } from 'node:async_hooks';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { GceCredentials } from '@mantle/auth';
import { abortReason, type Logger, retry } from '@mantle/cluster';
import {
  type GoogleErrorBody,
  gceHttpError,
  gceNetworkError,
  type HttpFailure,
  isNotFound,
  isRetryable,
} from './errors.js';

/**
 * One authenticated HTTP path for everything: the Compute SDK (its REST transport calls the auth
 * client's `fetch`), the Storage JSON API and the resumable upload. The SDK's calls take no
 * AbortSignal, so each call runs in a scope (AsyncLocalStorage) that carries the caller's signal to
 * the fetch beneath it; the same scope keeps the HTTP status and Google's error body, which the SDK's
 * own error loses (it maps 404 to a gRPC code).
 */

interface CallScope {
  signal?: AbortSignal;
  failure?: HttpFailure;
}

const scopes = new AsyncLocalStorage<CallScope>();

/** Runs `fn` with `signal` reaching every request it makes; returns what the last failure said. */
export async function inScope<T>(
  signal: AbortSignal | undefined,
  fn: () => Promise<T>,
): Promise<{ ok: true; value: T } | { ok: false; error: unknown; failure?: HttpFailure }> {
  const scope: CallScope = signal ? { signal } : {};
  try {
    return { ok: true, value: await scopes.run(scope, fn) };
  } catch (error) {
    return { ok: false, error, ...(scope.failure ? { failure: scope.failure } : {}) };
  }
}

function joinSignals(a: AbortSignal | undefined | null, b: AbortSignal | undefined): AbortSignal | undefined {
  if (!a) return b;
  if (!b) return a;
  return AbortSignal.any([a, b]);
}

async function failureOf(response: Response): Promise<HttpFailure> {
  const text = await response
    .clone()
    .text()
    .catch(() => '');
  let body: GoogleErrorBody | undefined;
  try {
    body = JSON.parse(text) as GoogleErrorBody;
  } catch {
    body = text ? { error: { message: text.slice(0, 200) } } : undefined;
  }
  const requestId = response.headers.get('x-guploader-uploadid') ?? response.headers.get('x-goog-request-id');
  return { status: response.status, ...(body ? { body } : {}), ...(requestId ? { requestId } : {}) };
}

/**
 * The auth client handed to the Compute SDK (`authClient`): google-gax's REST transport asks it to
 * `fetch` each request; `getRequestHeaders` is what makes gax take it as an auth client.
 */
export class BearerAuthClient {
  readonly universeDomain = undefined;
  constructor(readonly credentials: GceCredentials) {}

  async getRequestHeaders(): Promise<Record<string, string>> {
    return { Authorization: `Bearer ${await this.credentials.accessToken(scopes.getStore()?.signal)}` };
  }

  /** fetch with the bearer token, the scope's signal, and the failure recorded in the scope. */
  async fetch(url: string | URL, init: RequestInit = {}): Promise<Response> {
    const scope = scopes.getStore();
    const signal = joinSignals(init.signal, scope?.signal);
    const headers = new Headers(init.headers);
    headers.set('authorization', `Bearer ${await this.credentials.accessToken(scope?.signal)}`);
    const response = await fetch(url, {
      ...(init.method ? { method: init.method } : {}),
      headers,
      ...(init.body !== undefined && init.body !== null ? { body: init.body } : {}),
      ...(signal ? { signal } : {}),
      ...((init as { duplex?: string }).duplex ? { duplex: 'half' } : {}),
    } as RequestInit);
    if (!response.ok && response.status !== 308 && scope) scope.failure = await failureOf(response);
    return response;
  }

  /** A request whose body is bytes in hand (upload chunks), sent without copying them; as `fetch`. */
  async sendBytes(
    url: string,
    init: { method: string; headers: Record<string, string>; body: readonly Uint8Array[] },
  ): Promise<Response> {
    const scope = scopes.getStore();
    const headers = {
      ...init.headers,
      authorization: `Bearer ${await this.credentials.accessToken(scope?.signal)}`,
    };
    const response = await sendWithNodeHttp(new URL(url), {
      ...init,
      headers,
      ...(scope?.signal ? { signal: scope.signal } : {}),
    });
    if (!response.ok && response.status !== 308 && scope) scope.failure = await failureOf(response);
    return response;
  }
}

// Upload chunks go through node:http: fetch copies a Buffer body (into a web stream) before it
// sends it, which for tens of MiB per request costs CPU and as much memory again.
const agents = { http: new HttpAgent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true }) };

function sendWithNodeHttp(
  url: URL,
  init: {
    method: string;
    headers: Record<string, string>;
    body: readonly Uint8Array[];
    signal?: AbortSignal;
  },
): Promise<Response> {
  const https = url.protocol === 'https:';
  const length = init.body.reduce((n, b) => n + b.length, 0);
  return new Promise((resolve, reject) => {
    // an error of the transport carries its code as `cause`, as fetch's do (gceNetworkError reads it)
    const fail = (e: unknown) => reject(new TypeError('fetch failed', { cause: e }));
    const request = (https ? httpsRequest : httpRequest)(url, {
      method: init.method,
      headers: { ...init.headers, 'content-length': String(length) },
      agent: https ? agents.https : agents.http,
      ...(init.signal ? { signal: init.signal } : {}),
    });
    request.on('error', fail);
    request.on('response', (response: IncomingMessage) => {
      const parts: Buffer[] = [];
      response.on('data', (part: Buffer) => parts.push(part));
      response.on('error', fail);
      response.on('end', () => {
        const headers = new Headers();
        for (const [name, value] of Object.entries(response.headers))
          if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
        const body = Buffer.concat(parts);
        resolve(new Response(body.length ? body : null, { status: response.statusCode ?? 0, headers }));
      });
    });
    for (const piece of init.body) request.write(piece);
    request.end();
  });
}

export interface CallOptions {
  signal?: AbortSignal | undefined;
  /** Attempts for retryable failures (throttling, quotas, 5xx, network); 1 = no retry. Default 6. */
  attempts?: number;
  log?: Logger | undefined;
}

/**
 * Runs one API call (SDK or fetch) as `operation`: typed one-line errors (401 → CredentialsError),
 * throttling, quota and 5xx answers retried with exponential backoff (1 s doubling to 30 s).
 */
export async function gceCall<T>(
  operation: string,
  options: CallOptions,
  call: (attempt: number) => Promise<T>,
): Promise<T> {
  return retry(
    async (attempt) => {
      const result = await inScope(options.signal, () => call(attempt));
      if (result.ok) return result.value;
      if (options.signal?.aborted) throw abortReason(options.signal, `gce ${operation}`);
      if (result.failure) throw gceHttpError(operation, result.failure, result.error);
      throw toGceError(operation, result.error);
    },
    {
      attempts: options.attempts ?? 6,
      initialDelayMs: 1000,
      maxDelayMs: 30_000,
      retryable: isRetryable,
      ...(options.signal ? { signal: options.signal } : {}),
      onRetry: (e, attempt, delayMs) =>
        options.log?.info(`gce ${operation}: retrying in ${Math.round(delayMs / 1000)}s`, {
          attempt,
          error: e instanceof Error ? e.message : String(e),
        }),
    },
  );
}

/** An error thrown without an HTTP answer: the network's, or the SDK's own. */
function toGceError(operation: string, e: unknown): Error {
  const status = (e as { code?: unknown }).code;
  // an answer that was not JSON: the SDK's error may still carry the HTTP status
  if (typeof status === 'number' && status >= 400 && status < 600)
    return gceHttpError(operation, { status, body: { error: { message: (e as Error).message } } }, e);
  return gceNetworkError(operation, e);
}

/** A JSON request on the authenticated path (Storage's JSON API); throws the typed error on failure. */
export async function googleJson<T>(
  auth: BearerAuthClient,
  operation: string,
  url: string,
  init: RequestInit & { okStatuses?: number[] },
  options: CallOptions,
): Promise<{ status: number; body: T; headers: Headers }> {
  return gceCall(operation, options, async () => {
    let response: Response;
    try {
      response = await auth.fetch(url, init);
    } catch (e) {
      throw gceNetworkError(operation, e, url);
    }
    if (!response.ok && !init.okStatuses?.includes(response.status)) {
      await response.body?.cancel().catch(() => {});
      throw new Error(`HTTP ${response.status}`); // the scope has the failure; gceCall types it
    }
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : {}) as T, headers: response.headers };
  });
}

/**
 * Every item of every page of a JSON list (`items`, `nextPageToken`): `query` is the first page's,
 * each next page adds its `pageToken`; one request per page, each retried on its own.
 */
export async function* googlePages<T>(
  auth: BearerAuthClient,
  operation: string,
  url: string,
  query: Record<string, string>,
  options: CallOptions,
): AsyncGenerator<T> {
  let pageToken: string | undefined;
  do {
    const params = new URLSearchParams(query);
    if (pageToken) params.set('pageToken', pageToken);
    const { body } = await googleJson<{ items?: T[]; nextPageToken?: string }>(
      auth,
      operation,
      `${url}?${params}`,
      {},
      options,
    );
    yield* body.items ?? [];
    pageToken = body.nextPageToken || undefined;
  } while (pageToken);
}

/** The call's answer, or undefined where the resource is not there (404): "get if it exists". */
export async function unlessNotFound<T>(call: Promise<T>): Promise<T | undefined> {
  try {
    return await call;
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

/** What an SDK list call resolves to with autoPaginate off: the page's items and the raw answer. */
type ListAnswer<T> = [T[], unknown, { nextPageToken?: string | null } | null | undefined];

/** Every item of every page of an SDK list call: one request per page, each retried on its own. */
export async function* sdkPages<T>(
  operation: string,
  options: CallOptions,
  call: (pageToken: string | undefined) => Promise<ListAnswer<T>>,
): AsyncGenerator<T> {
  let pageToken: string | undefined;
  do {
    const token = pageToken;
    const [items, , raw] = await gceCall(operation, options, () => call(token));
    yield* items;
    pageToken = raw?.nextPageToken || undefined;
  } while (pageToken);
}
