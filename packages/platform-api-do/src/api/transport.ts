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
 * DigitalOcean's v2 API over `fetch`, answers checked with zod. No SDK: digitalocean-js pins axios
 * 0.24 and eleven exact peer dependencies, and the ~15 endpoints mantle needs are a few lines each.
 *
 * - every call takes the run's signal (and a per-try timeout of its own);
 * - 429: waits until `ratelimit-reset` (epoch seconds; DigitalOcean sends no Retry-After), capped;
 * - 5xx and dropped connections: retried with exponential backoff for GET/PUT/DELETE; a POST only
 *   when the caller says how to tell whether the lost try took effect (`recover`), or that a repeat
 *   is harmless (`repeatable`), so a lost answer never creates a second droplet;
 * - `retryStatuses`: more statuses retried at their own pace (droplet create retries 422, as mantle);
 * - lists follow `links.pages.next`, rebased on the configured endpoint (the token goes nowhere else).
 */

export interface DoTransportOptions {
  /** `https://api.digitalocean.com` or an emulator's `http://127.0.0.1:N`; paths are `/v2/…`. */
  endpoint: string;
  token: string;
  log?: Logger;
  fetch?: typeof fetch;
  /** Tries of a call that meets 5xx or a dropped connection (default 6). */
  attempts?: number;
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** 429 answers waited out before giving up (default 20). */
  rateLimitAttempts?: number;
  /** Longest single wait for a rate limit to reset (default 60 s; the hourly window can be longer). */
  maxRateLimitWaitMs?: number;
  /** One try's limit (default 60 s): a hung connection is a dropped one. */
  requestTimeoutMs?: number;
  /** The clock `ratelimit-reset` is compared with (tests). */
  now?: () => number;
}

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface CallOptions<T> {
  /** DigitalOcean's operation id or a short name, for messages: `droplets_create`. */
  operation: string;
  method: HttpMethod;
  /** `/v2/droplets/1` */
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  /** Schema of a 2xx answer's JSON; without it the body is ignored (204s). */
  schema?: z.ZodType<T>;
  signal: AbortSignal;
  /**
   * A POST whose answer was lost (5xx, dropped connection): whether the try took effect, asked
   * before trying again. A value means it did, and is returned.
   */
  recover?: (signal: AbortSignal) => Promise<T | undefined>;
  /** A POST that may simply be sent again (creating a tag that may exist). */
  repeatable?: boolean;
  /** Statuses retried besides 429 and 5xx, with their own pace; `retryIf` may exempt an answer. */
  retryStatuses?: {
    statuses: number[];
    attempts: number;
    delayMs: number;
    retryIf?: (answer: { status: number; message: string; doId?: string }) => boolean;
  };
}

/** DigitalOcean's error body: `{"id": "not_found", "message": "…", "request_id": "…"}`. */
const errorBody = z.looseObject({
  id: z.string().optional(),
  message: z.string().optional(),
  request_id: z.string().optional(),
});

export interface DoErrorDetails {
  status: number;
  /** DigitalOcean's error id: `not_found`, `unprocessable_entity`, `too_many_requests`, … */
  doId?: string;
  requestId?: string;
}

/** A call DigitalOcean answered with an error; `doId` is its error id. */
export class DoApiError extends PlatformApiError {
  readonly status: number;
  readonly doId: string | undefined;
  constructor(operation: string, message: string, details: DoErrorDetails) {
    super(
      {
        platform: 'do',
        operation,
        status: details.status,
        ...(details.doId ? { providerCode: details.doId } : {}),
        ...(details.requestId ? { requestId: details.requestId } : {}),
      },
      message,
    );
    this.status = details.status;
    this.doId = details.doId;
  }
}

/** 401: the token is wrong, expired or revoked. Exit 2, like any credentials problem. */
export class DoCredentialsError extends CredentialsError {
  readonly status = 401;
  readonly doId: string | undefined;
  constructor(operation: string, message: string, doId: string | undefined) {
    super(`do ${operation}: the API token was refused: ${message}`, {
      hint: 'check --do-token, $DIGITALOCEAN_TOKEN or the config file',
    });
    this.doId = doId;
  }
}

export function isNotFound(e: unknown): boolean {
  return e instanceof DoApiError && e.status === 404;
}

/** Answered, but with a body that is not what DigitalOcean documents. */
function unexpected(operation: string, status: number, error: z.ZodError): PlatformApiError {
  const issue = error.issues[0]!;
  const where = issue.path.length ? `${issue.path.join('.')}: ` : '';
  return new PlatformApiError(
    { platform: 'do', operation, status },
    `unexpected answer: ${where}${issue.message}`,
  );
}

export interface ListOptions<T> {
  operation: string;
  path: string;
  /** The array's key in the answer: `droplets`, `images`, `ssh_keys`, … */
  key: string;
  item: z.ZodType<T>;
  query?: CallOptions<unknown>['query'];
  signal: AbortSignal;
}

/** A try that got no answer (refused, reset, timed out). */
class DroppedError extends Error {}

const idempotent = new Set<HttpMethod>(['GET', 'PUT', 'DELETE']);

export class DoTransport {
  readonly endpoint: URL;
  private readonly token: string;
  private readonly log: Logger;
  private readonly fetchFn: typeof fetch;
  private readonly o: Required<
    Pick<
      DoTransportOptions,
      | 'attempts'
      | 'initialDelayMs'
      | 'maxDelayMs'
      | 'rateLimitAttempts'
      | 'maxRateLimitWaitMs'
      | 'requestTimeoutMs'
      | 'now'
    >
  >;
  /** Requests sent, by operation (bench and tests count them). */
  readonly requestCounts = new Map<string, number>();

  constructor(options: DoTransportOptions) {
    this.endpoint = new URL(options.endpoint.endsWith('/') ? options.endpoint : `${options.endpoint}/`);
    this.token = options.token;
    this.log = options.log ?? silentLogger();
    this.fetchFn = options.fetch ?? fetch;
    this.o = {
      attempts: options.attempts ?? 6,
      initialDelayMs: options.initialDelayMs ?? 1000,
      maxDelayMs: options.maxDelayMs ?? 30_000,
      rateLimitAttempts: options.rateLimitAttempts ?? 20,
      maxRateLimitWaitMs: options.maxRateLimitWaitMs ?? 60_000,
      requestTimeoutMs: options.requestTimeoutMs ?? 60_000,
      now: options.now ?? Date.now,
    };
  }

  /** `/v2/x` (or an absolute URL of a next page) against the endpoint, never another host. */
  url(path: string, query: CallOptions<unknown>['query'] = {}): URL {
    const given = new URL(path, 'http://placeholder');
    const base = this.endpoint.pathname.replace(/\/$/, '');
    const pathname = given.pathname.startsWith(`${base}/`) || !base ? given.pathname : base + given.pathname;
    const url = new URL(pathname + given.search, this.endpoint.origin);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
    return url;
  }

  async call<T = void>(options: CallOptions<T>): Promise<T> {
    const { operation, signal } = options;
    let failures = 0;
    let throttled = 0;
    let extra = 0;
    let delay = this.o.initialDelayMs;
    for (;;) {
      if (signal.aborted) throw abortReason(signal, operation);
      let answer: Response;
      try {
        answer = await this.send(options);
      } catch (e) {
        if (!(e instanceof DroppedError)) throw e;
        failures++;
        const recovered = await this.retryAfterLoss(options, e.message, failures, delay);
        if (recovered.done) return recovered.value as T;
        delay = Math.min(delay * 2, this.o.maxDelayMs);
        continue;
      }
      if (answer.ok) return this.parse(options, answer);
      const body = await this.errorOf(answer);
      const status = answer.status;
      if (status === 401) throw new DoCredentialsError(operation, body.message, body.doId);
      if (status === 429 && ++throttled <= this.o.rateLimitAttempts) {
        const wait = this.rateLimitWait(answer, delay);
        this.log.notice(`do ${operation}: rate limited; waiting ${Math.ceil(wait / 1000)}s for it to reset`);
        await sleep(wait, signal);
        continue;
      }
      const rs = options.retryStatuses;
      if (
        rs?.statuses.includes(status) &&
        (rs.retryIf?.({ status, ...body }) ?? true) &&
        ++extra < rs.attempts
      ) {
        this.log.info(`do ${operation}: ${status} ${body.message}; trying again in ${rs.delayMs}ms`);
        await sleep(rs.delayMs, signal);
        continue;
      }
      if (status >= 500) {
        failures++;
        const recovered = await this.retryAfterLoss(
          options,
          `${status} ${body.message}`,
          failures,
          delay,
          new DoApiError(operation, body.message, { status, ...body }),
        );
        if (recovered.done) return recovered.value as T;
        delay = Math.min(delay * 2, this.o.maxDelayMs);
        continue;
      }
      throw new DoApiError(operation, body.message, { status, ...body });
    }
  }

  /**
   * After a try without a usable answer: gives up (throws) when the tries are spent or the call must
   * not be repeated; else waits, and for a recoverable POST asks first whether the try took effect.
   */
  private async retryAfterLoss<T>(
    options: CallOptions<T>,
    why: string,
    failures: number,
    delay: number,
    error?: DoApiError,
  ): Promise<{ done: true; value: T } | { done: false }> {
    const { operation, signal } = options;
    const fail = () =>
      error ??
      new PlatformApiError({ platform: 'do', operation }, `no answer from ${this.endpoint.origin}: ${why}`);
    const repeatable = idempotent.has(options.method) || options.repeatable || options.recover;
    if (!repeatable || failures >= this.o.attempts) throw fail();
    const wait = delay * (1 + Math.random() * 0.2);
    this.log.info(`do ${operation}: ${why}; trying again in ${Math.round(wait)}ms`);
    await sleep(wait, signal);
    if (options.recover) {
      const value = await options.recover(signal);
      if (value !== undefined) {
        this.log.info(`do ${operation}: the lost try had taken effect`);
        return { done: true, value };
      }
    }
    return { done: false };
  }

  private rateLimitWait(answer: Response, fallbackMs: number): number {
    const reset = Number(answer.headers.get('ratelimit-reset'));
    const retryAfter = Number(answer.headers.get('retry-after'));
    let wait = fallbackMs;
    if (Number.isFinite(retryAfter) && retryAfter > 0) wait = retryAfter * 1000;
    else if (Number.isFinite(reset) && reset > 0) wait = reset * 1000 - this.o.now();
    return Math.min(Math.max(wait, 250), this.o.maxRateLimitWaitMs);
  }

  private async send(options: CallOptions<unknown>): Promise<Response> {
    const url = this.url(options.path, options.query);
    const tryLimit = deadline(options.signal, this.o.requestTimeoutMs, `do ${options.operation}`);
    this.requestCounts.set(options.operation, (this.requestCounts.get(options.operation) ?? 0) + 1);
    try {
      const answer = await this.fetchFn(url, {
        method: options.method,
        headers: {
          authorization: `Bearer ${this.token}`,
          accept: 'application/json',
          'user-agent': 'mantle-ts',
          ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
        signal: tryLimit,
      });
      // read the body under the same limit: a stalled body is a dropped connection too
      const text = await answer.text();
      return new Response(answer.status === 204 || answer.status === 304 ? null : text, {
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
    const text = await answer.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      throw new PlatformApiError(
        { platform: 'do', operation: options.operation, status: answer.status },
        'answer is not JSON',
      );
    }
    const parsed = options.schema.safeParse(json);
    if (!parsed.success) throw unexpected(options.operation, answer.status, parsed.error);
    return parsed.data;
  }

  private async errorOf(answer: Response): Promise<{ message: string; doId?: string; requestId?: string }> {
    const text = await answer.text().catch(() => '');
    let body: z.output<typeof errorBody> = {};
    try {
      const parsed = errorBody.safeParse(JSON.parse(text));
      if (parsed.success) body = parsed.data;
    } catch {
      // not JSON (a proxy's HTML page): the status says enough
    }
    const requestId = body.request_id ?? answer.headers.get('x-request-id') ?? undefined;
    return {
      message: body.message ?? (answer.statusText || `HTTP ${answer.status}`),
      ...(body.id ? { doId: body.id } : {}),
      ...(requestId ? { requestId } : {}),
    };
  }

  /**
   * Every item of a list, page by page (`per_page` 200, DigitalOcean's maximum), following
   * `links.pages.next` until there is none.
   */
  async *list<T>(options: ListOptions<T>): AsyncGenerator<T> {
    const page = z.looseObject({
      [options.key]: z.array(options.item).nullish(),
      links: z.looseObject({ pages: z.looseObject({ next: z.string().optional() }).nullish() }).nullish(),
    }) as unknown as z.ZodType<
      Record<string, unknown> & { links?: { pages?: { next?: string } | null } | null }
    >;
    let next: string | undefined = this.url(options.path, { per_page: 200, ...options.query }).toString();
    const seen = new Set<string>();
    while (next) {
      const url = this.url(next);
      if (seen.has(url.toString()))
        throw new PlatformApiError(
          { platform: 'do', operation: options.operation },
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
      next = answer.links?.pages?.next;
    }
  }

  async listAll<T>(options: ListOptions<T>): Promise<T[]> {
    const out: T[] = [];
    for await (const item of this.list(options)) out.push(item);
    return out;
  }
}
