import { spawn } from "node:child_process";
import { CLI } from "../support/process-cluster.js";

export interface BenchRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `kvraft bench ...` (the built binary) each in a process group of its own. The
 * cluster bench starts KVRaft members and etcd as its children and has no signal
 * handler: a SIGTERM to the bench alone would leave them running. Killing the group
 * stops the bench and everything it started, whatever state a failed test left it in.
 */
export class BenchProcesses {
  private readonly groups = new Set<number>();

  run(args: readonly string[]): Promise<BenchRun> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [CLI, "bench", ...args], { stdio: ["ignore", "pipe", "pipe"], detached: true });
      if (child.pid !== undefined) this.groups.add(child.pid);
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
      child.once("error", reject);
      // "close", not "exit": the output is complete only once both pipes have closed.
      child.once("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
    });
  }

  /**
   * Whether anything the bench started is still running. Linux does not hand out a pid
   * that is still some group's id, so a group id names only our processes while any live.
   */
  leftRunning(): boolean {
    for (const group of this.groups) {
      try {
        process.kill(-group, 0);
        return true;
      } catch {
        // ESRCH: nothing left in that group.
      }
    }
    return false;
  }

  /** SIGKILL to every group this ran: the benches and any member or etcd still alive. */
  stopAll(): void {
    for (const group of this.groups) {
      try {
        process.kill(-group, "SIGKILL");
      } catch {
        // ESRCH: the group is empty, as it is after a bench that finished.
      }
    }
    this.groups.clear();
  }
}
