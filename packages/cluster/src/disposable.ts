import { CleanupError } from './errors.js';

/**
 * A small AsyncDisposableStack (Node 20 has none): push cleanups as resources are made, dispose them
 * in reverse order. Every cleanup runs even when earlier ones fail; failures are gathered into one
 * CleanupError.
 */
export class DisposableStack implements AsyncDisposable {
  private readonly cleanups: Array<() => unknown> = [];
  private disposal: Promise<void> | undefined;

  get disposed(): boolean {
    return this.disposal !== undefined;
  }

  /** Registers a cleanup and returns `value`, so creation and cleanup stay on one line. */
  adopt<T>(value: T, cleanup: (value: T) => unknown): T {
    this.defer(() => cleanup(value));
    return value;
  }

  /** Registers an AsyncDisposable (or Disposable) and returns it. */
  use<T extends AsyncDisposable | Disposable | null | undefined>(value: T): T {
    if (value == null) return value;
    const v = value as Partial<AsyncDisposable & Disposable>;
    const dispose = v[Symbol.asyncDispose] ?? v[Symbol.dispose];
    if (typeof dispose !== 'function') throw new TypeError('value is not disposable');
    this.defer(() => dispose.call(value));
    return value;
  }

  defer(cleanup: () => unknown): void {
    if (this.disposal) throw new Error('DisposableStack already disposed');
    this.cleanups.push(cleanup);
  }

  /** Moves the cleanups to a new stack (keep resources after a successful setup). */
  move(): DisposableStack {
    const next = new DisposableStack();
    next.cleanups.push(...this.cleanups.splice(0));
    return next;
  }

  disposeAsync(): Promise<void> {
    this.disposal ??= (async () => {
      const errors: unknown[] = [];
      while (this.cleanups.length) {
        const cleanup = this.cleanups.pop()!;
        try {
          await cleanup();
        } catch (e) {
          errors.push(e);
        }
      }
      if (errors.length) throw new CleanupError('cleanup failed', errors);
    })();
    return this.disposal;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.disposeAsync();
  }
}

/** Runs `fn` once; later calls return the first call's promise (idempotent destroy). */
export function once<T>(fn: () => Promise<T>): () => Promise<T> {
  let result: Promise<T> | undefined;
  return () => {
    result ??= fn();
    return result;
  };
}

/**
 * Destroys the children in parallel, then the owner's own resources, and reports every failure
 * together: one child failing never stops the others or the owner's cleanup.
 */
export async function destroyTogether(
  what: string,
  children: Iterable<{ destroy(): Promise<void> }>,
  own: () => Promise<void>,
): Promise<void> {
  const results = await Promise.allSettled([...children].map((c) => c.destroy()));
  const errors = results
    .filter((r): r is PromiseRejectedResult => r.status === 'rejected')
    .map((r) => r.reason);
  try {
    await own();
  } catch (e) {
    errors.push(e);
  }
  if (errors.length) throw new CleanupError(what, errors);
}
