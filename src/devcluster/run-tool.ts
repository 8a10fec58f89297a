import { execFile } from "node:child_process";

/** Enough of a failed tool's stderr to see why (npm's errors run to a few dozen lines). */
const STDERR_TAIL_LINES = 30;
/** npm ci and ldd print little; this only guards against a runaway tool. */
const MAX_OUTPUT_BYTES = 16 * 1024 * 1024;

/**
 * Runs a host tool the image builder needs (tar, ldd, npm) and returns its stdout. A
 * failure says what was being done, the command, why it failed (the tail of stderr) and,
 * where given, what to do about it.
 */
export function runTool(command: string, args: readonly string[], what: string, options: { cwd?: string; hint?: string } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd: options.cwd, maxBuffer: MAX_OUTPUT_BYTES, encoding: "utf8" }, (error, stdout, stderr) => {
      if (error === null) {
        resolve(stdout);
        return;
      }
      const code = (error as NodeJS.ErrnoException).code;
      const why = code === "ENOENT" ? `${command} is not installed (not found on PATH)` : stderr.trim().split("\n").slice(-STDERR_TAIL_LINES).join("\n") || error.message;
      reject(new Error(`${what} failed: ${[command, ...args].join(" ")}\n${why}${options.hint === undefined ? "" : `\n${options.hint}`}`));
    });
  });
}
