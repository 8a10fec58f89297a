import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { CLI } from "../support/process-cluster.js";
import { waitFor } from "../support/wait.js";

/** `[local] m2 started (pid 123)` and `[local] m2 restarted with its data (pid 456)`. */
const STARTED = /^\[local\] (coord|m\d+) (?:started|restarted with its data) \(pid (\d+)\)$/;

/**
 * One `node dist/cli.js local ...` run as a child process, with its output kept and the
 * pid of every process it started (from its log), so a test can kill one and check
 * that none is left at the end. `killEverything()` is for afterAll: it leaves nothing
 * running even when the test failed halfway.
 */
export class LocalRun {
  readonly lines: string[] = [];
  /** The current pid of each child, by name (coord, m1, ...). */
  readonly pids = new Map<string, number>();
  /** Every pid any child ever had. */
  readonly allPids = new Set<number>();
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly child: ChildProcess;

  constructor(args: readonly string[], cwd: string) {
    this.child = spawn(process.execPath, [CLI, "local", ...args], { cwd, stdio: ["ignore", "pipe", "pipe"] });
    for (const stream of [this.child.stdout, this.child.stderr]) {
      if (stream === null) continue;
      createInterface({ input: stream, crlfDelay: Infinity }).on("line", (line) => {
        this.lines.push(line);
        if (this.lines.length > 2000) this.lines.splice(0, 500);
        const started = STARTED.exec(line);
        if (started !== null) {
          this.pids.set(started[1] as string, Number(started[2]));
          this.allPids.add(Number(started[2]));
        }
      });
    }
    this.exited = new Promise((resolve) => this.child.once("exit", (code, signal) => resolve({ code, signal })));
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  async waitForLine(what: string, pattern: RegExp, timeoutMs = 30_000): Promise<string> {
    return waitFor(what, () => this.lines.find((line) => pattern.test(line)), timeoutMs);
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  async killEverything(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGKILL");
    // Only pids still running our program: a pid that exited long ago may belong to
    // something else by now.
    for (const pid of this.allPids) if (isOurProgram(pid)) process.kill(pid, "SIGKILL");
    await this.exited;
  }

  describe(): string {
    return this.lines.slice(-60).join("\n");
  }
}

/** Whether a process with this pid exists (a zombie counts: it was not reaped). */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function isOurProgram(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(CLI);
  } catch {
    return false;
  }
}
