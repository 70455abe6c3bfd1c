/**
 * Ctrl-C/SIGTERM handling: the first signal aborts the run's root signal (no new test starts,
 * running tests abort, everything is destroyed, exit 130); a second exits at once and prints the
 * `kola cleanup` command for what may be left.
 */
export class Interrupts {
  readonly controller = new AbortController();
  /** Set once the run has an output directory, for the cleanup hint. */
  runDir: string | undefined;
  private count = 0;
  private readonly onSignal = (sig: NodeJS.Signals) => this.handle(sig);

  constructor(private readonly stderr: { write(s: string): unknown }) {
    process.on('SIGINT', this.onSignal);
    process.on('SIGTERM', this.onSignal);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  private handle(sig: NodeJS.Signals): void {
    this.count++;
    if (this.count === 1) {
      this.stderr.write(
        `\nkola: ${sig}: stopping tests and destroying machines (press Ctrl-C again to exit at once)\n`,
      );
      // any non-timeout reason reads as "interrupted" to the cluster's abortReason()
      this.controller.abort(new Error(`interrupted by ${sig}`));
      return;
    }
    const hint = this.runDir ? `kola cleanup --run ${this.runDir}` : 'kola cleanup --run <output dir>';
    this.stderr.write(`kola: exiting without cleanup; to destroy what may be left run:\n  ${hint}\n`);
    process.exit(130);
  }

  dispose(): void {
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
  }
}
