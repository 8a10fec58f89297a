import { spawn } from "node:child_process";
import { CLI } from "./process-cluster.js";

export interface CliRun { code: number | null; stdout: string; stderr: string }

/** Runs the built `kvraft ...args` as a user would; resolves when it exits. */
export function runKvraft(args: readonly string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => { stdout += chunk.toString(); });
    child.stderr.on("data", (chunk: Buffer) => { stderr += chunk.toString(); });
    child.once("exit", (code) => resolve({ code, stdout, stderr }));
  });
}
