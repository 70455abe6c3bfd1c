import { AbortedError, abortReason, errorMessage, TimeoutError } from './errors.js';

/** Resolves after `ms`, or rejects with the signal's typed reason when aborted first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortReason(signal));
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortReason(signal!));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * A signal that aborts when `parent` does or when `ms` pass. Timeout aborts carry a TimeoutError naming
 * `phase`, so whoever catches it can say what was late.
 */
export function deadline(parent: AbortSignal | undefined, ms: number, phase: string): AbortSignal {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new TimeoutError(phase, ms)), ms);
  timer.unref?.();
  const onAbort = () => {
    clearTimeout(timer);
    controller.abort(parent!.reason);
  };
  const detach = () => {
    clearTimeout(timer);
    parent?.removeEventListener('abort', onAbort);
  };
  if (parent?.aborted) onAbort();
  else parent?.addEventListener('abort', onAbort, { once: true });
  controller.signal.addEventListener('abort', detach, { once: true });
  detachers.set(controller.signal, detach);
  return controller.signal;
}

const detachers = new WeakMap<AbortSignal, () => void>();

/**
 * Ends a deadline whose work is done: stops its timer and unhooks it from its parent, which would
 * otherwise collect one listener per finished operation for the whole run.
 */
export function releaseDeadline(signal: AbortSignal | undefined): void {
  if (!signal) return;
  detachers.get(signal)?.();
  detachers.delete(signal);
}

/**
 * Runs a cleanup under a deadline of its own: it must run after a Ctrl-C, when the run's signal has
 * already aborted.
 */
export async function underFreshDeadline<T>(
  what: string,
  ms: number,
  fn: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const signal = deadline(undefined, ms, what);
  try {
    return await fn(signal);
  } finally {
    releaseDeadline(signal);
  }
}

/** Throws the signal's typed reason if it has aborted. */
export function throwIfAborted(signal: AbortSignal | undefined, phase?: string): void {
  if (signal?.aborted) throw abortReason(signal, phase);
}

/** Races a promise against a signal; the promise is not cancelled, only abandoned. */
export function abortable<T>(
  promise: Promise<T>,
  signal: AbortSignal | undefined,
  phase?: string,
): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(abortReason(signal, phase));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortReason(signal, phase));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

export interface WaitForOptions {
  /** What is being waited for, used in the timeout message ("for instance i-123 to run"). */
  phase: string;
  timeoutMs: number;
  intervalMs?: number;
  /** Interval grows by this factor up to maxIntervalMs. */
  backoff?: number;
  maxIntervalMs?: number;
  signal?: AbortSignal;
}

/**
 * Polls `check` until it returns a value other than undefined/false, the deadline passes (TimeoutError
 * naming the phase and the last error seen) or the signal aborts. Errors thrown by `check` are retried.
 */
export async function waitFor<T>(
  check: (signal: AbortSignal) => Promise<T | undefined | false> | T | undefined | false,
  options: WaitForOptions,
): Promise<T> {
  const signal = deadline(options.signal, options.timeoutMs, options.phase);
  try {
    return await pollUntil(check, signal, options);
  } finally {
    releaseDeadline(signal);
  }
}

async function pollUntil<T>(
  check: (signal: AbortSignal) => Promise<T | undefined | false> | T | undefined | false,
  signal: AbortSignal,
  options: WaitForOptions,
): Promise<T> {
  const { phase, timeoutMs, intervalMs = 1000, backoff = 1, maxIntervalMs = intervalMs * 10 } = options;
  let interval = intervalMs;
  let lastError: unknown;
  for (;;) {
    if (signal.aborted) throw withLastError(abortReason(signal, phase, timeoutMs), lastError, options.signal);
    try {
      const value = await abortable(Promise.resolve(check(signal)), signal, phase);
      if (value !== undefined && value !== false) return value as T;
    } catch (e) {
      if (signal.aborted)
        throw withLastError(abortReason(signal, phase, timeoutMs), lastError, options.signal);
      lastError = e;
    }
    try {
      await sleep(interval, signal);
    } catch {
      throw withLastError(abortReason(signal, phase, timeoutMs), lastError, options.signal);
    }
    interval = Math.min(interval * backoff, maxIntervalMs);
  }
}

function withLastError(err: Error, lastError: unknown, parent: AbortSignal | undefined): Error {
  if (parent?.aborted) return parent.reason instanceof Error ? abortReason(parent) : new AbortedError();
  if (err instanceof TimeoutError && lastError !== undefined) {
    return new TimeoutError(`${err.phase} (last error: ${errorMessage(lastError)})`, err.timeoutMs, {
      cause: lastError,
    });
  }
  return err;
}

/**
 * Asks `check` every `intervalMs` until it returns a value; TimeoutError naming `phase` after
 * `timeoutMs`. Unlike waitFor, an error thrown by `check` ends the wait (a failed import will not
 * start working).
 */
export async function pollEvery<T>(
  phase: string,
  options: { intervalMs: number; timeoutMs: number; signal: AbortSignal },
  check: () => Promise<T | undefined>,
): Promise<T> {
  const until = Date.now() + options.timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() + options.intervalMs > until) throw new TimeoutError(phase, options.timeoutMs);
    await sleep(options.intervalMs, options.signal);
  }
}

export interface RetryOptions {
  /** Total attempts, including the first. */
  attempts: number;
  initialDelayMs?: number;
  maxDelayMs?: number;
  factor?: number;
  /** Adds up to this fraction of random jitter to each delay. */
  jitter?: number;
  /** Only errors for which this returns true are retried; others are thrown at once. */
  retryable?: (error: unknown) => boolean;
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  signal?: AbortSignal;
}

/** Calls `fn` until it succeeds, retrying retryable errors with exponential backoff. */
export async function retry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const { attempts, initialDelayMs = 500, maxDelayMs = 30_000, factor = 2, jitter = 0.2 } = options;
  let delay = initialDelayMs;
  for (let attempt = 1; ; attempt++) {
    throwIfAborted(options.signal);
    try {
      return await fn(attempt);
    } catch (e) {
      if (options.signal?.aborted) throw abortReason(options.signal);
      if (attempt >= attempts || (options.retryable && !options.retryable(e))) throw e;
      const wait = Math.min(delay, maxDelayMs) * (1 + Math.random() * jitter);
      options.onRetry?.(e, attempt, wait);
      await sleep(wait, options.signal);
      delay *= factor;
    }
  }
}

/** `Promise.withResolvers` for Node 20. */
export function deferred<T>(): {
  promise: Promise<T>;
  resolve: (v: T) => void;
  reject: (e: unknown) => void;
} {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
