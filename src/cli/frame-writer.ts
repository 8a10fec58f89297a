/** Where frames go: stdout, or a double in tests. */
export interface FrameOutput {
  readonly isTTY?: boolean;
  write(text: string): unknown;
}

/** Home the cursor and clear the screen (ECMA-48 CUP and ED): the next frame replaces the last. */
const CLEAR_SCREEN = "\u001b[H\u001b[2J";

/**
 * Shows a live view in a terminal. On a TTY each frame is redrawn in place; into a pipe
 * or a file a frame is appended (with the time) only when its `key` differs from the
 * last one, so a log of `kvraft status --watch` holds changes, not one copy per refresh.
 */
export class FrameWriter {
  private lastKey: string | undefined;

  constructor(private readonly output: FrameOutput, private readonly now: () => Date = () => new Date()) {}

  draw(lines: readonly string[], key: string = lines.join("\n")): void {
    if (this.output.isTTY === true) {
      this.output.write(`${CLEAR_SCREEN}${lines.join("\n")}\n`);
      return;
    }
    if (key === this.lastKey) return;
    this.lastKey = key;
    this.output.write(`--- ${this.now().toISOString()}\n${lines.join("\n")}\n`);
  }
}
