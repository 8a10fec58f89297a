import type { ChildProcess } from "node:child_process";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";

/** What happened to a supervised process, for the program to print. */
export type SupervisorEvent =
  | { readonly type: "started"; readonly name: string; readonly pid: number; readonly restarts: number }
  | { readonly type: "exited"; readonly name: string; readonly code: number | null; readonly signal: string | null; readonly restartInMs: number | undefined }
  | { readonly type: "spawn-failed"; readonly name: string; readonly error: string; readonly restartInMs: number | undefined };

export interface SupervisedOptions {
  /** Short name shown in the log: "m2", "coord". */
  readonly name: string;
  readonly command: string;
  /** The arguments, computed afresh for every start (a member's data dir may have changed). */
  readonly args: () => Promise<readonly string[]>;
  readonly onLine: (name: string, line: string) => void;
  readonly onEvent: (event: SupervisorEvent) => void;
  readonly restartBackoffMsMin?: number;
  readonly restartBackoffMsMax?: number;
  /** A process that ran this long before crashing restarts after the shortest backoff again. */
  readonly stableAfterMs?: number;
}

const RESTART_BACKOFF_MS_MIN = 500;
const RESTART_BACKOFF_MS_MAX = 10_000;
const STABLE_AFTER_MS = 10_000;

/**
 * One child process kept running, as a StatefulSet keeps a pod: when it exits without
 * being asked to, it is started again with the same data after a backoff that doubles
 * while it keeps crashing. Each child gets its own process group (detached), so a
 * Ctrl-C in the terminal reaches only `kvraft local`, which then stops the children
 * in its chosen order.
 */
export class SupervisedProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private stopping = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private backoffMs: number;
  private restarts = 0;

  constructor(private readonly options: SupervisedOptions) {
    this.backoffMs = options.restartBackoffMsMin ?? RESTART_BACKOFF_MS_MIN;
  }

  get name(): string {
    return this.options.name;
  }

  /** The running process's pid, if one runs. */
  get pid(): number | undefined {
    return this.isRunning() ? this.child?.pid : undefined;
  }

  isRunning(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  async start(): Promise<void> {
    if (this.stopping) return;
    const args = await this.options.args();
    if (this.stopping) return;
    const startedAt = Date.now();
    const child = spawn(this.options.command, [...args], { stdio: ["ignore", "pipe", "pipe"], detached: true });
    this.child = child;
    // Read every line until the pipe closes: a child writing to a pipe nobody reads
    // would fail with EPIPE in the middle of its own shutdown.
    for (const stream of [child.stdout, child.stderr]) {
      if (stream !== null) createInterface({ input: stream, crlfDelay: Infinity }).on("line", (line) => this.options.onLine(this.name, line));
    }
    this.exited = new Promise<void>((resolve) => {
      child.on("error", (error) => {
        // spawn failed (the program is missing): no "exit" follows. Other errors (a
        // signal that could not be sent) are followed by "exit" or are harmless.
        if (child.pid === undefined) {
          this.options.onEvent({ type: "spawn-failed", name: this.name, error: error.message, restartInMs: this.scheduleRestart(startedAt) });
          resolve();
        }
      });
      child.once("exit", (code, signal) => {
        this.options.onEvent({ type: "exited", name: this.name, code, signal, restartInMs: this.scheduleRestart(startedAt) });
        resolve();
      });
    });
    if (child.pid !== undefined) this.options.onEvent({ type: "started", name: this.name, pid: child.pid, restarts: this.restarts });
  }

  /**
   * Stops for good: no more restarts, `signal` now, SIGKILL if still running after
   * `timeoutMs`. Resolves when the process has exited (and been reaped).
   */
  async stop(signal: NodeJS.Signals, timeoutMs: number): Promise<void> {
    this.stopping = true;
    if (this.restartTimer !== undefined) clearTimeout(this.restartTimer);
    if (!this.isRunning()) return this.exited;
    this.child?.kill(signal);
    const timer = setTimeout(() => this.child?.kill("SIGKILL"), timeoutMs);
    try {
      await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Last resort when `kvraft local` itself is exiting abnormally: synchronous. */
  killNow(): void {
    this.stopping = true;
    if (this.restartTimer !== undefined) clearTimeout(this.restartTimer);
    if (this.isRunning()) this.child?.kill("SIGKILL");
  }

  private scheduleRestart(startedAt: number): number | undefined {
    if (this.stopping) return undefined;
    const min = this.options.restartBackoffMsMin ?? RESTART_BACKOFF_MS_MIN;
    const max = this.options.restartBackoffMsMax ?? RESTART_BACKOFF_MS_MAX;
    if (Date.now() - startedAt >= (this.options.stableAfterMs ?? STABLE_AFTER_MS)) this.backoffMs = min;
    const delay = this.backoffMs;
    this.backoffMs = Math.min(max, this.backoffMs * 2);
    this.restartTimer = setTimeout(() => {
      this.restarts += 1;
      this.start().catch((error: unknown) => {
        this.options.onEvent({ type: "spawn-failed", name: this.name, error: (error as Error).message, restartInMs: this.scheduleRestart(Date.now()) });
      });
    }, delay);
    return delay;
  }
}
