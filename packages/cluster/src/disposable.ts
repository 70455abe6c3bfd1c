import { CleanupError, RollbackError } from './errors.js';

/**
 * A small AsyncDisposableStack (Node 20 has none): push cleanups as resources are made, dispose them
 * in reverse order. Every cleanup runs even when earlier ones fail; failures are gathered into one
 * CleanupError.
 */
export class DisposableStack implements AsyncDisposable {
  private readonly cleanups: Array<() => unknown> = [];
  private disposal: Promise<void> | undefined;

  /** Registers a cleanup and returns `value`, so creation and cleanup stay on one line. */
  adopt<T>(value: T, cleanup: (value: T) => unknown): T {
    this.defer(() => cleanup(value));
    return value;
  }

  defer(cleanup: () => unknown): void {
    if (this.disposal) throw new Error('DisposableStack already disposed');
    this.cleanups.push(cleanup);
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

  /**
   * Undoes a setup that failed with `failure`: disposes the stack, then throws `failure`, or a
   * RollbackError with the cleanups that failed too (what may be left behind).
   */
  async rollBack(failure: unknown): Promise<never> {
    try {
      await this.disposeAsync();
    } catch (e) {
      throw new RollbackError(failure, e instanceof CleanupError ? e.errors : [e]);
    }
    throw failure;
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

/** The reasons of the rejected results. */
export function rejections(results: PromiseSettledResult<unknown>[]): unknown[] {
  return results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason);
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
  const errors = rejections(await Promise.allSettled([...children].map((c) => c.destroy())));
  try {
    await own();
  } catch (e) {
    errors.push(e);
  }
  if (errors.length) throw new CleanupError(what, errors);
}
