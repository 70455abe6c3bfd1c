import { errorMessage } from '@mantle/cluster';

export type DoProgressStatus = 'in-progress' | 'completed' | 'errored';

/**
 * Something DigitalOcean does in the background (a droplet's boot, an action, an image import): in
 * progress until its work has settled and at least `minMs` have passed since it started, then
 * completed, or errored when the work failed. Time is read when it is looked at (no timer runs), so
 * a client's poll sees it move on as on the real API; `onFailed` runs once, when the work fails.
 */
export class DoProgress {
  readonly startedAt = new Date();
  private settledAt: number | undefined;
  private failure: string | undefined;
  private finished: Date | undefined;

  constructor(
    work: Promise<unknown>,
    private readonly minMs: number,
    onFailed?: (message: string) => void,
  ) {
    work.then(
      () => {
        this.settledAt = Date.now();
      },
      (error) => {
        this.settledAt = Date.now();
        this.failure = errorMessage(error);
        onFailed?.(this.failure);
      },
    );
  }

  /** Settled work: for things the emulator decides at once (an action refused by the machine…). */
  static done(minMs: number): DoProgress {
    return new DoProgress(Promise.resolve(), minMs);
  }

  get status(): DoProgressStatus {
    if (!this.finished && this.settledAt !== undefined) {
      if (this.failure !== undefined || Date.now() - this.startedAt.getTime() >= this.minMs)
        this.finished = new Date();
    }
    if (!this.finished) return 'in-progress';
    return this.failure === undefined ? 'completed' : 'errored';
  }

  /** When it completed or errored (once it has). */
  get finishedAt(): Date | undefined {
    void this.status;
    return this.finished;
  }

  /** Why the work failed, once it has. */
  get error(): string | undefined {
    return this.settledAt === undefined ? undefined : this.failure;
  }
}

/** DigitalOcean writes times to the second: `2026-01-01T00:00:00Z`. */
export const doTime = (date: Date) => date.toISOString().replace(/\.\d{3}Z$/, 'Z');
