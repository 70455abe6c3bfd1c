/**
 * The one Ctrl-C/SIGTERM rule of kola and ore: the first signal aborts the root signal (work stops,
 * what was started is destroyed, exit 130); a second exits at once, after saying what may be left.
 */
export class Interrupts {
  readonly controller = new AbortController();
  private count = 0;
  private readonly onSignal = (sig: NodeJS.Signals) => this.handle(sig);

  constructor(
    private readonly settings: {
      program: string;
      stderr: { write(s: string): unknown };
      /** What the first signal stops, e.g. "stopping tests and destroying machines". */
      stopping: string;
      /** Lines printed before exiting on the second signal (e.g. the `kola cleanup` command). */
      leftBehind?: () => string | undefined;
      /** Ends the process on the second signal (the CLI's main passes `process.exit`). */
      exit: (code: number) => void;
    },
  ) {
    process.on('SIGINT', this.onSignal);
    process.on('SIGTERM', this.onSignal);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  private handle(sig: NodeJS.Signals): void {
    const { program, stderr } = this.settings;
    if (++this.count === 1) {
      stderr.write(`\n${program}: ${sig}: ${this.settings.stopping} (press Ctrl-C again to exit at once)\n`);
      // any non-timeout reason reads as "interrupted" to the cluster's abortReason()
      this.controller.abort(new Error(`interrupted by ${sig}`));
      return;
    }
    const left = this.settings.leftBehind?.();
    if (left) stderr.write(`${program}: exiting without cleanup; ${left}\n`);
    this.settings.exit(130);
  }

  dispose(): void {
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
  }
}
