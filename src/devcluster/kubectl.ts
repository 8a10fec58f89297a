import { spawn } from "node:child_process";

/** kubectl's answer to one command. */
export interface KubectlResult {
  readonly stdout: string;
  readonly stderr: string;
  /** The exit code; null if kubectl was killed (see `timedOut`). */
  readonly code: number | null;
  readonly timedOut: boolean;
}

export interface KubectlOptions {
  /** Written to kubectl's stdin (for `apply -f -`). */
  readonly input?: string;
  readonly timeoutMs?: number;
  readonly env?: NodeJS.ProcessEnv;
}

const DEFAULT_TIMEOUT_MS = 60_000;
/** A listing of every object in a busy test namespace fits well inside this. */
const MAX_OUTPUT_BYTES = 32 * 1024 * 1024;

/** Runs kubectl (or any command) to completion, never longer than the timeout, output bounded. */
export function runKubectl(binary: string, args: readonly string[], options: KubectlOptions = {}): Promise<KubectlResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ["pipe", "pipe", "pipe"], env: options.env ?? process.env });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let bytes = 0;
    let timedOut = false;
    let overflowed = false;
    const collect = (into: Buffer[]) => (chunk: Buffer): void => {
      bytes += chunk.length;
      if (bytes > MAX_OUTPUT_BYTES) {
        overflowed = true;
        child.kill("SIGKILL");
        return;
      }
      into.push(chunk);
    };
    child.stdout.on("data", collect(out));
    child.stderr.on("data", collect(err));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(new Error(`could not run ${binary}: ${error.message}`));
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      if (overflowed) {
        reject(new Error(`${binary} ${args.join(" ")} wrote more than ${MAX_OUTPUT_BYTES} bytes; narrow the query`));
        return;
      }
      resolve({ stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8"), code, timedOut });
    });
    child.stdin.on("error", () => undefined); // kubectl may exit before reading all of stdin
    child.stdin.end(options.input ?? "");
  });
}

export function describeFailure(args: readonly string[], result: KubectlResult): string {
  const how = result.timedOut ? "timed out" : `exit code ${result.code}`;
  return `kubectl ${args.join(" ")} failed (${how}): ${result.stderr.trim() || result.stdout.trim() || "no output"}`;
}
