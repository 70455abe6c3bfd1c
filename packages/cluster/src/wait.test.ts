import { describe, expect, it, vi } from 'vitest';
import { AbortedError, TimeoutError } from './errors.js';
import { abortable, deadline, deferred, pollEvery, retry, sleep, throwIfAborted, waitFor } from './wait.js';

describe('sleep and deadline', () => {
  it('sleep resolves after the time and rejects with AbortedError on abort', async () => {
    const started = Date.now();
    await sleep(50);
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    const c = new AbortController();
    setTimeout(() => c.abort(), 20);
    await expect(sleep(5000, c.signal)).rejects.toBeInstanceOf(AbortedError);
    await expect(sleep(10, c.signal)).rejects.toBeInstanceOf(AbortedError);
  });

  it('deadline aborts with a TimeoutError naming the phase', async () => {
    const signal = deadline(undefined, 50, 'for the kettle');
    await expect(sleep(5000, signal)).rejects.toThrow(/timed out after 50ms for the kettle/);
    expect(signal.reason).toBeInstanceOf(TimeoutError);
    expect((signal.reason as TimeoutError).phase).toBe('for the kettle');
  });

  it('deadline follows its parent', () => {
    const parent = new AbortController();
    const signal = deadline(parent.signal, 10_000, 'x');
    expect(signal.aborted).toBe(false);
    const reason = new AbortedError('stop');
    parent.abort(reason);
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe(reason);
    expect(deadline(parent.signal, 10_000, 'y').aborted).toBe(true);
  });

  it('throwIfAborted, abortable and deferred', async () => {
    expect(() => throwIfAborted(undefined)).not.toThrow();
    const c = new AbortController();
    expect(() => throwIfAborted(c.signal)).not.toThrow();
    c.abort();
    expect(() => throwIfAborted(c.signal)).toThrow(AbortedError);

    const d = deferred<number>();
    const c2 = new AbortController();
    const raced = abortable(d.promise, c2.signal, 'waiting for d');
    c2.abort();
    await expect(raced).rejects.toBeInstanceOf(AbortedError);
    const d2 = deferred<number>();
    const ok = abortable(d2.promise, new AbortController().signal);
    d2.resolve(7);
    await expect(ok).resolves.toBe(7);
    await expect(abortable(Promise.resolve(1), undefined)).resolves.toBe(1);
  });
});

describe('waitFor', () => {
  it('polls until check returns a value, retrying errors, false and undefined', async () => {
    let n = 0;
    const value = await waitFor(
      () => {
        n++;
        if (n === 1) throw new Error('not yet');
        if (n === 2) return false;
        if (n === 3) return undefined;
        return `ready after ${n}`;
      },
      { phase: 'for the thing', timeoutMs: 2000, intervalMs: 10 },
    );
    expect(value).toBe('ready after 4');
  });

  it('times out with a TimeoutError naming the phase and the last error', async () => {
    const started = Date.now();
    const err = await waitFor(
      () => {
        throw new Error('connection refused');
      },
      { phase: 'for instance i-123 to run', timeoutMs: 200, intervalMs: 20 },
    ).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as Error).message).toBe(
      'timed out after 200ms for instance i-123 to run (last error: connection refused)',
    );
  });

  it('times out even when check never settles', async () => {
    const err = await waitFor(() => new Promise<never>(() => {}), {
      phase: 'for a hung check',
      timeoutMs: 100,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as Error).message).toContain('for a hung check');
  });

  it('an abort of the parent signal is an AbortedError, not a timeout', async () => {
    const c = new AbortController();
    setTimeout(() => c.abort(), 50);
    const err = await waitFor(
      () => {
        throw new Error('nope');
      },
      { phase: 'for x', timeoutMs: 5000, intervalMs: 10, signal: c.signal },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AbortedError);
  });

  it('passes a signal that aborts at the deadline to check', async () => {
    let seen: AbortSignal | undefined;
    await waitFor(
      (signal) => {
        seen = signal;
        return false;
      },
      { phase: 'p', timeoutMs: 100, intervalMs: 20 },
    ).catch(() => {});
    expect(seen?.aborted).toBe(true);
  });
});

describe('retry', () => {
  it('retries until success with backoff and reports each retry', async () => {
    const onRetry = vi.fn();
    let calls = 0;
    const result = await retry(
      async (attempt) => {
        calls++;
        if (attempt < 3) throw new Error(`fail ${attempt}`);
        return 'ok';
      },
      { attempts: 5, initialDelayMs: 5, jitter: 0, onRetry },
    );
    expect(result).toBe('ok');
    expect(calls).toBe(3);
    expect(onRetry).toHaveBeenCalledTimes(2);
    expect(onRetry.mock.calls[0]?.[2]).toBe(5);
    expect(onRetry.mock.calls[1]?.[2]).toBe(10);
  });

  it('throws the last error when attempts run out', async () => {
    let calls = 0;
    await expect(
      retry(
        async (attempt) => {
          calls++;
          throw new Error(`fail ${attempt}`);
        },
        { attempts: 3, initialDelayMs: 1 },
      ),
    ).rejects.toThrow('fail 3');
    expect(calls).toBe(3);
  });

  it('throws non-retryable errors at once', async () => {
    let calls = 0;
    await expect(
      retry(
        async () => {
          calls++;
          throw new Error(calls === 1 ? 'throttled' : 'forbidden');
        },
        { attempts: 10, initialDelayMs: 1, retryable: (e) => (e as Error).message === 'throttled' },
      ),
    ).rejects.toThrow('forbidden');
    expect(calls).toBe(2);
  });

  it('stops on abort', async () => {
    const c = new AbortController();
    setTimeout(() => c.abort(), 30);
    await expect(
      retry(
        async () => {
          throw new Error('flaky');
        },
        { attempts: 100, initialDelayMs: 10, signal: c.signal },
      ),
    ).rejects.toBeInstanceOf(AbortedError);
  });
});

describe('pollEvery', () => {
  it('returns the first value, and an error of the check ends the wait', async () => {
    let n = 0;
    const pace = { intervalMs: 1, timeoutMs: 5000, signal: AbortSignal.timeout(5000) };
    await expect(pollEvery('for n', pace, async () => (++n === 3 ? n : undefined))).resolves.toBe(3);
    n = 0;
    await expect(
      pollEvery('for n', pace, async () => {
        if (++n === 2) throw new Error('import failed');
        return undefined;
      }),
    ).rejects.toThrow('import failed');
    expect(n).toBe(2);
  });
  it('times out naming the phase', async () => {
    const pace = { intervalMs: 5, timeoutMs: 20, signal: AbortSignal.timeout(5000) };
    const err = await pollEvery('for the image', pace, async () => undefined).catch((e) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect(err.message).toBe('timed out after 20ms for the image');
  });
});
