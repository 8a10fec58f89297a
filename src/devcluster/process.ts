import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { waitFor } from "./wait.js";

/** How much of a log a failure message quotes: enough to see the error, not the whole run. */
const TAIL_LINES = 40;
const TAIL_BYTES = 64 * 1024;

/**
 * One long-running process of the test rig (etcd, an apiserver, a controller), its stdout
 * and stderr appended to a log file in the rig's directory. A process that exits on its own
 * is remembered, so waits fail at once with the tail of its log instead of at their deadline.
 */
export class RigProcess {
  private readonly child: ChildProcess;
  private exitInfo: string | undefined;
  private stopping = false;
  readonly exited: Promise<void>;

  constructor(readonly name: string, binary: string, args: readonly string[], readonly logFile: string, env: NodeJS.ProcessEnv = process.env) {
    const fd = openSync(logFile, "a");
    try {
      this.child = spawn(binary, args, { stdio: ["ignore", fd, fd], env });
    } finally {
      closeSync(fd); // the child holds its own copy of the descriptor
    }
    this.exited = new Promise((resolve) => {
      this.child.once("exit", (code, signal) => {
        this.exitInfo = signal === null ? `exit code ${code}` : `signal ${signal}`;
        resolve();
      });
      this.child.once("error", (error) => {
        this.exitInfo = `could not start ${binary}: ${error.message}`;
        resolve();
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  isRunning(): boolean {
    return this.exitInfo === undefined;
  }

  /** Why the process ended when nobody asked it to, or undefined while it runs (or was stopped). */
  diedEarly(): string | undefined {
    return this.exitInfo !== undefined && !this.stopping ? this.exitInfo : undefined;
  }

  /** Throws, quoting the log, if the process has died on its own. */
  assertAlive(): void {
    const why = this.diedEarly();
    if (why !== undefined) throw new Error(`${this.name} exited (${why}); last lines of ${this.logFile}:\n${this.tail()}`);
  }

  tail(lines = TAIL_LINES): string {
    let text: string;
    try {
      text = readFileSync(this.logFile, "utf8");
    } catch {
      return "(no log)";
    }
    return text.slice(-TAIL_BYTES).split("\n").slice(-lines - 1).join("\n");
  }

  /** SIGTERM, then SIGKILL after the grace period; resolves once the process is gone. */
  async stop(graceMs = 5_000): Promise<void> {
    this.stopping = true;
    if (this.exitInfo !== undefined) return;
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), graceMs);
    try {
      await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Last resort when the test process itself is exiting: no waiting is possible then. */
  killNow(): void {
    this.stopping = true;
    if (this.exitInfo === undefined) this.child.kill("SIGKILL");
  }
}

/**
 * Waits for a condition with a deadline; fails at once, quoting its log, if any of the
 * processes dies meanwhile, and quotes the log of the process waited on at the deadline.
 */
export async function untilWhileAlive<T>(what: string, processes: readonly RigProcess[], blame: RigProcess,
  check: () => Promise<T | undefined> | T | undefined, timeoutMs: number): Promise<T> {
  try {
    return await waitFor(what, check, timeoutMs, 200, () => {
      for (const proc of processes) proc.assertAlive();
    });
  } catch (error) {
    if (processes.some((p) => p.diedEarly() !== undefined)) throw error;
    throw new Error(`${(error as Error).message}; last lines of ${blame.logFile}:\n${blame.tail()}`);
  }
}
