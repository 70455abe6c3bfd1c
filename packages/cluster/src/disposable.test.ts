import { describe, expect, it } from 'vitest';
import { DisposableStack, once } from './disposable.js';
import { CleanupError } from './errors.js';

describe('DisposableStack', () => {
  it('disposes in reverse order, awaiting async cleanups', async () => {
    const order: string[] = [];
    const stack = new DisposableStack();
    stack.defer(() => order.push('first'));
    const value = stack.adopt({ name: 'adopted' }, async (v) => {
      await new Promise((r) => setTimeout(r, 10));
      order.push(v.name);
    });
    expect(value.name).toBe('adopted');
    stack.use({ [Symbol.asyncDispose]: async () => void order.push('async disposable') });
    stack.use({ [Symbol.dispose]: () => void order.push('disposable') });
    expect(stack.use(null)).toBeNull();
    await stack.disposeAsync();
    expect(order).toEqual(['disposable', 'async disposable', 'adopted', 'first']);
    expect(stack.disposed).toBe(true);
  });

  it('runs every cleanup despite failures and gathers them into one CleanupError', async () => {
    const ran: number[] = [];
    const stack = new DisposableStack();
    stack.defer(() => ran.push(1));
    stack.defer(() => {
      ran.push(2);
      throw new Error('network gone');
    });
    stack.defer(async () => {
      ran.push(3);
      throw new Error('key pair busy');
    });
    const err = await stack.disposeAsync().catch((e: unknown) => e);
    expect(ran).toEqual([3, 2, 1]);
    expect(err).toBeInstanceOf(CleanupError);
    expect((err as CleanupError).errors).toHaveLength(2);
    expect((err as CleanupError).message).toContain('key pair busy');
    expect((err as CleanupError).message).toContain('network gone');
  });

  it('is idempotent and refuses new cleanups once disposed', async () => {
    let runs = 0;
    const stack = new DisposableStack();
    stack.defer(() => runs++);
    const a = stack.disposeAsync();
    const b = stack[Symbol.asyncDispose]();
    expect(b).toBe(a);
    await a;
    await stack.disposeAsync();
    expect(runs).toBe(1);
    expect(() => stack.defer(() => {})).toThrow(/already disposed/);
  });

  it('move() hands the cleanups to a new stack', async () => {
    const ran: string[] = [];
    const setup = new DisposableStack();
    setup.defer(() => ran.push('a'));
    setup.defer(() => ran.push('b'));
    const kept = setup.move();
    await setup.disposeAsync();
    expect(ran).toEqual([]);
    await kept.disposeAsync();
    expect(ran).toEqual(['b', 'a']);
  });

  it('rejects values that are not disposable', () => {
    expect(() => new DisposableStack().use({} as unknown as Disposable)).toThrow(TypeError);
  });
});

describe('once', () => {
  it('runs the function once and returns the same promise afterwards', async () => {
    let calls = 0;
    const destroy = once(async () => {
      calls++;
      return calls;
    });
    const [a, b] = await Promise.all([destroy(), destroy()]);
    expect([a, b]).toEqual([1, 1]);
    expect(await destroy()).toBe(1);
    expect(calls).toBe(1);
  });
});
