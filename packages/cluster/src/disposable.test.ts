import { describe, expect, it } from 'vitest';
import { DisposableStack, once } from './disposable.js';
import { CleanupError, PlatformApiError, RollbackError } from './errors.js';

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
    stack.defer(() => order.push('last'));
    await stack.disposeAsync();
    expect(order).toEqual(['last', 'adopted', 'first']);
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

  it('rollBack() undoes a failed setup and rethrows its failure', async () => {
    const ran: string[] = [];
    const stack = new DisposableStack();
    stack.defer(() => ran.push('undone'));
    const failure = new PlatformApiError({ platform: 'aws', operation: 'ImportKeyPair' }, 'throttled');
    await expect(stack.rollBack(failure)).rejects.toBe(failure);
    expect(ran).toEqual(['undone']);
  });

  it('rollBack() throws a RollbackError with the failure and every cleanup that failed', async () => {
    const stack = new DisposableStack();
    stack.defer(() => {
      throw new Error('key pair busy');
    });
    stack.defer(() => {
      throw new Error('instance stuck');
    });
    const failure = new PlatformApiError({ platform: 'aws', operation: 'RunInstances' }, 'no capacity');
    const err = (await stack.rollBack(failure).catch((e: unknown) => e)) as RollbackError;
    expect(err).toBeInstanceOf(RollbackError);
    expect(err).toBeInstanceOf(CleanupError);
    expect(err.failure).toBe(failure);
    expect(err.code).toBe('platform.aws.api');
    expect(err.errors.map((e) => (e as Error).message)).toEqual(['instance stuck', 'key pair busy']);
    expect(err.message).toBe(
      'aws RunInstances: no capacity; then cleaning up failed: instance stuck; key pair busy',
    );
  });

  it('rollBack() of a failure that carries cleanup errors already keeps one list of them', async () => {
    const stack = new DisposableStack();
    stack.defer(() => {
      throw new Error('second leak');
    });
    const inner = new RollbackError(new Error('boom'), [new Error('first leak')]);
    const err = (await stack.rollBack(inner).catch((e: unknown) => e)) as RollbackError;
    expect((err.failure as Error).message).toBe('boom');
    expect(err.code).toBe('cleanup');
    expect(err.message).toBe('boom; then cleaning up failed: first leak; second leak');
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
