import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";

/** Log lines kept per member, for the error message when it fails to start or dies. */
const LOG_LINES_KEPT = 40;
/** A member asked to stop has this long before SIGKILL. */
const STOP_GRACE_MS = 10_000;

/**
 * One server process of a benchmarked cluster (a KVRaft member or an etcd member): it can
 * be started, signalled and started again with the same data; its last log lines are
 * kept so that a failure can say why. Unlike `kvraft local`'s supervisor it never
 * restarts on its own: the benchmark kills leaders on purpose and restarts them itself.
 */
export class MemberProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private readonly lines: string[] = [];

  constructor(
    readonly name: string,
    private readonly command: string,
    private readonly args: readonly string[],
  ) {}

  get pid(): number | undefined {
    return this.running() ? this.child?.pid : undefined;
  }

  running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  start(): void {
    if (this.running()) throw new Error(`${this.name} is already running (pid ${this.child?.pid})`);
    const child = spawn(this.command, [...this.args], { stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    // Read every line until the pipe closes: a child whose pipe is not read would block.
    for (const stream of [child.stdout, child.stderr]) {
      if (stream === null) continue;
      createInterface({ input: stream, crlfDelay: Infinity }).on("line", (line) => {
        this.lines.push(line);
        if (this.lines.length > LOG_LINES_KEPT) this.lines.shift();
      });
    }
    this.exited = new Promise<void>((resolve) => {
      child.once("exit", () => resolve());
      child.once("error", (error) => {
        this.lines.push(`could not start ${this.command}: ${error.message}`);
        resolve();
      });
    });
  }

  /** Sends `signal` and waits for the exit (SIGKILL after a grace period). */
  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    if (!this.running()) return this.exited;
    this.child?.kill(signal);
    const timer = setTimeout(() => this.child?.kill("SIGKILL"), STOP_GRACE_MS);
    try {
      await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sends a signal without waiting: a leader killed while the load runs. */
  signal(signal: NodeJS.Signals): void {
    if (this.running()) this.child?.kill(signal);
  }

  waitForExit(): Promise<void> {
    return this.exited;
  }

  /** The last lines it logged, for an error message. */
  recentLog(): string {
    return this.lines.length === 0 ? "(no output)" : this.lines.join("\n");
  }
}
