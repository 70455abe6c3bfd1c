import { abortReason } from './errors.js';

/**
 * Limits how many holders run at once (e.g. VMs booting on a host's cores). `acquire()` resolves to a
 * release function; waiters are served in order and leave the queue when their signal aborts.
 */
export class Semaphore {
  private readonly waiters: Array<{ grant: () => void }> = [];
  private held = 0;

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1)
      throw new RangeError('semaphore limit must be a whole number ≥ 1');
  }

  get inUse(): number {
    return this.held;
  }

  acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    return new Promise((resolve, reject) => {
      const waiter = {
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          this.held++;
          let released = false;
          resolve(() => {
            if (released) return;
            released = true;
            this.held--;
            this.next();
          });
        },
      };
      const onAbort = () => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(abortReason(signal!));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
      this.next();
    });
  }

  private next(): void {
    while (this.held < this.limit && this.waiters.length) this.waiters.shift()!.grant();
  }
}
