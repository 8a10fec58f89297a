const BAR_WIDTH = 30;

/**
 * A progress bar on stderr while the benchmark runs: redrawn in place on a terminal, one
 * line per step otherwise (a CI log), so stdout keeps only the results.
 */
export class ProgressBar {
  private done = 0;
  private readonly tty = process.stderr.isTTY === true;

  constructor(private total: number) {}

  /** Adds steps found on the way (extras that run only if the rest worked). */
  grow(steps: number): void {
    this.total += steps;
  }

  step(label: string): void {
    this.done = Math.min(this.done + 1, this.total);
    this.show(label);
  }

  show(label: string): void {
    const filled = Math.round((this.done / Math.max(this.total, 1)) * BAR_WIDTH);
    const text = `[${"#".repeat(filled)}${".".repeat(BAR_WIDTH - filled)}] ${this.done}/${this.total} ${label}`;
    if (this.tty) process.stderr.write(`\r\x1b[2K${text}`);
    else process.stderr.write(`${text}\n`);
  }

  /** Clears the bar so that what follows starts on a clean line. */
  finish(): void {
    if (this.tty) process.stderr.write("\r\x1b[2K");
  }

  /** A message between steps, on its own line. */
  note(message: string): void {
    if (this.tty) process.stderr.write("\r\x1b[2K");
    process.stderr.write(`${message}\n`);
  }
}
