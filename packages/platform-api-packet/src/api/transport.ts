import {
  abortReason,
  CredentialsError,
  deadline,
  errorMessage,
  type Logger,
  PlatformApiError,
  releaseDeadline,
  silentLogger,
  sleep,
} from '@mantle/cluster';
import { z } from 'zod';

/**
 * Equinix Metal's API v1 over `fetch`, answers checked with zod; no npm client exists (packngo is Go,
 * and equinix-sdk-go dropped metalv1 at the sunset).
 *
 * - `X-Auth-Token`; every call takes the run's signal and a per-try limit of its own;
 * - 429 waited out by `Retry-After`; 5xx and dropped connections retried with exponential backoff
 *   for GET/PUT/DELETE, and for a POST only through `recover` (was the lost try done?), so a lost
 *   answer never makes a second device. A transport error is an error, never a crash (mantle's
 *   retry loop dereferenced a nil response there);
 * - lists follow `meta.next.href`, rebased on the endpoint (the key goes to no other host).
 */

export interface MetalTransportOptions {
  /** `https://api.equinix.com/metal/v1` or an emulator's `http://127.0.0.1:N/metal/v1`. */
  endpoint: string;
  apiKey: string;
  log?: Logger;
  fetch?: typeof fetch;
  /** Tries of a call that meets 5xx or a dropped connection (default 5). */
  attempts?: number;
  initialDelayMs?: number;
  maxDelayMs?: number;
  rateLimitAttempts?: number;
  requestTimeoutMs?: number;
}

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface CallOptions<T> {
  /** The spec's operation id, for messages: `createDevice`. */
  operation: string;
  method: HttpMethod;
  /** Under the endpoint: `/devices/<id>`. */
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  schema?: z.ZodType<T>;
  signal: AbortSignal;
  /** A POST whose answer was lost: whether it took effect (a value = it did, and is the answer). */
  recover?: (signal: AbortSignal) => Promise<T | undefined>;
}

const errorBody = z.looseObject({
  error: z.string().optional(),
  errors: z.array(z.string()).optional(),
});

export class MetalApiError extends PlatformApiError {
  readonly status: number;
  constructor(operation: string, message: string, status: number) {
    super({ platform: 'packet', operation, status }, message);
    this.status = status;
  }
}

/** 401: the API key is wrong or revoked. Exit 2, like any credentials problem. */
export class MetalCredentialsError extends CredentialsError {
  readonly status = 401;
  constructor(operation: string, message: string) {
    super(`packet ${operation}: the API key was refused: ${message}`, {
      hint: 'check --packet-api-key, $METAL_AUTH_TOKEN or ~/.config/packet.json',
    });
  }
}

export const isNotFound = (e: unknown): boolean => e instanceof MetalApiError && e.status === 404;

/** A try that got no answer (refused, reset, timed out). */
class DroppedError extends Error {}

export class MetalTransport {
  readonly endpoint: URL;
  private readonly apiKey: string;
  private readonly log: Logger;
  private readonly fetchFn: typeof fetch;
  private readonly attempts: number;
  private readonly initialDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly rateLimitAttempts: number;
  private readonly requestTimeoutMs: number;

  constructor(o: MetalTransportOptions) {
    this.endpoint = new URL(o.endpoint.replace(/\/+$/, ''));
    this.apiKey = o.apiKey;
    this.log = o.log ?? silentLogger();
    this.fetchFn = o.fetch ?? fetch;
    this.attempts = o.attempts ?? 5;
    this.initialDelayMs = o.initialDelayMs ?? 1000;
    this.maxDelayMs = o.maxDelayMs ?? 30_000;
    this.rateLimitAttempts = o.rateLimitAttempts ?? 20;
    this.requestTimeoutMs = o.requestTimeoutMs ?? 60_000;
  }

  /** A path under the endpoint, or a `meta.next.href` (which may repeat the base path), on the endpoint's origin. */
  url(path: string, query: CallOptions<unknown>['query'] = {}): URL {
    const given = new URL(path, 'http://placeholder');
    const base = this.endpoint.pathname.replace(/\/$/, '');
    const pathname = base && given.pathname.startsWith(`${base}/`) ? given.pathname : base + given.pathname;
    const url = new URL(pathname + given.search, this.endpoint.origin);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
    return url;
  }

  async call<T = void>(options: CallOptions<T>): Promise<T> {
    const { operation, signal } = options;
    let failures = 0;
    let throttled = 0;
    let delay = this.initialDelayMs;
    for (;;) {
      if (signal.aborted) throw abortReason(signal, operation);
      let lost: string;
      let error: MetalApiError | undefined;
      try {
        const answer = await this.send(options);
        if (answer.ok) return this.parse(options, answer);
        const message = await this.messageOf(answer);
        if (answer.status === 401) throw new MetalCredentialsError(operation, message);
        if (answer.status === 429 && ++throttled <= this.rateLimitAttempts) {
          const after = Number(answer.headers.get('retry-after'));
          const wait = Math.min(Number.isFinite(after) && after > 0 ? after * 1000 : delay, 60_000);
          this.log.notice(`packet ${operation}: rate limited; waiting ${Math.ceil(wait / 1000)}s`);
          await sleep(wait, signal);
          continue;
        }
        error = new MetalApiError(operation, message, answer.status);
        if (answer.status < 500) throw error;
        lost = `${answer.status} ${message}`;
      } catch (e) {
        if (!(e instanceof DroppedError)) throw e;
        lost = e.message;
      }
      failures++;
      const repeatable = options.method !== 'POST' || options.recover !== undefined;
      if (!repeatable || failures >= this.attempts)
        throw (
          error ??
          new PlatformApiError(
            { platform: 'packet', operation },
            `no answer from ${this.endpoint.origin}: ${lost}`,
          )
        );
      const wait = delay * (1 + Math.random() * 0.2);
      this.log.info(`packet ${operation}: ${lost}; trying again in ${Math.round(wait)}ms`);
      await sleep(wait, signal);
      delay = Math.min(delay * 2, this.maxDelayMs);
      const recovered = await options.recover?.(signal);
      if (recovered !== undefined) {
        this.log.info(`packet ${operation}: the lost try had taken effect`);
        return recovered;
      }
    }
  }

  private async send(options: CallOptions<unknown>): Promise<Response> {
    const tryLimit = deadline(options.signal, this.requestTimeoutMs, `packet ${options.operation}`);
    try {
      const answer = await this.fetchFn(this.url(options.path, options.query), {
        method: options.method,
        headers: {
          'x-auth-token': this.apiKey,
          accept: 'application/json',
          'user-agent': 'mantle-ts',
          ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
        signal: tryLimit,
      });
      // the body is read under the same limit: a stalled body is a dropped connection too
      const text = await answer.text();
      return new Response(answer.status === 204 ? null : text, {
        status: answer.status,
        headers: answer.headers,
      });
    } catch (e) {
      if (options.signal.aborted) throw abortReason(options.signal, options.operation);
      throw new DroppedError(errorMessage((e as { cause?: unknown }).cause ?? e));
    } finally {
      releaseDeadline(tryLimit);
    }
  }

  private async parse<T>(options: CallOptions<T>, answer: Response): Promise<T> {
    if (!options.schema) return undefined as T;
    let json: unknown;
    try {
      json = JSON.parse(await answer.text());
    } catch {
      throw new PlatformApiError(
        { platform: 'packet', operation: options.operation, status: answer.status },
        'answer is not JSON',
      );
    }
    const parsed = options.schema.safeParse(json);
    if (parsed.success) return parsed.data;
    const issue = parsed.error.issues[0]!;
    throw new PlatformApiError(
      { platform: 'packet', operation: options.operation, status: answer.status },
      `unexpected answer: ${issue.path.length ? `${issue.path.join('.')}: ` : ''}${issue.message}`,
    );
  }

  private async messageOf(answer: Response): Promise<string> {
    const text = await answer.text().catch(() => '');
    try {
      const body = errorBody.parse(JSON.parse(text));
      const message = body.errors?.join('; ') || body.error;
      if (message) return message;
    } catch {
      // not JSON (a proxy's page): the status says enough
    }
    return answer.statusText || `HTTP ${answer.status}`;
  }

  /** Every item of a list (`per_page` 1000, mantle's page size), following `meta.next.href`. */
  async *list<T>(options: {
    operation: string;
    path: string;
    key: string;
    item: z.ZodType<T>;
    query?: CallOptions<unknown>['query'];
    signal: AbortSignal;
  }): AsyncGenerator<T> {
    const page = z.looseObject({
      [options.key]: z.array(options.item).nullish(),
      meta: z.looseObject({ next: z.looseObject({ href: z.string() }).nullish() }).nullish(),
    }) as unknown as z.ZodType<
      Record<string, unknown> & { meta?: { next?: { href: string } | null } | null }
    >;
    let next: string | undefined = this.url(options.path, { per_page: 1000, ...options.query }).toString();
    const seen = new Set<string>();
    while (next) {
      const url = this.url(next);
      if (seen.has(url.toString()))
        throw new PlatformApiError(
          { platform: 'packet', operation: options.operation },
          `pagination loops at ${url.pathname}${url.search}`,
        );
      seen.add(url.toString());
      const answer = await this.call({
        operation: options.operation,
        method: 'GET',
        path: url.pathname + url.search,
        schema: page,
        signal: options.signal,
      });
      for (const item of (answer[options.key] as T[] | null | undefined) ?? []) yield item;
      next = answer.meta?.next?.href ?? undefined;
    }
  }
}
