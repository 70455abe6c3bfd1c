import { describe, expect, it } from 'vitest';
import { AbortedError } from './errors.js';
import { Semaphore } from './semaphore.js';

describe('Semaphore', () => {
  it('lets at most `limit` holders in, in order', async () => {
    const s = new Semaphore(2);
    const order: string[] = [];
    const r1 = await s.acquire();
    const r2 = await s.acquire();
    const third = s.acquire().then((r) => {
      order.push('third');
      return r;
    });
    const fourth = s.acquire().then((r) => {
      order.push('fourth');
      return r;
    });
    await new Promise((r) => setTimeout(r, 10));
    expect(order).toEqual([]);
    expect(s.inUse).toBe(2);
    r1();
    r1(); // releasing twice frees one place only
    const r3 = await third;
    expect(order).toEqual(['third']);
    expect(s.inUse).toBe(2);
    r2();
    (await fourth)();
    r3();
    expect(s.inUse).toBe(0);
  });

  it('drops a waiter whose signal aborts', async () => {
    const s = new Semaphore(1);
    const release = await s.acquire();
    const controller = new AbortController();
    const waiting = s.acquire(controller.signal);
    controller.abort(new Error('stop'));
    await expect(waiting).rejects.toBeInstanceOf(AbortedError);
    release();
    expect(s.inUse).toBe(0);
    (await s.acquire())();
  });
});
