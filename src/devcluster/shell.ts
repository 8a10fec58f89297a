import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";

/** Default bound on one command's run time: set-up commands (ip, iptables, ctr, openssl, ldd) finish in seconds. */
const COMMAND_TIMEOUT_MS = 60_000;
/** ctr's listings, iptables' dumps and npm's logs are small; past this something is wrong. */
const COMMAND_OUTPUT_BYTES_MAX = 16 * 1024 * 1024;
/** Enough of a failed command's stderr to see why (npm's errors run to a few dozen lines). */
const STDERR_TAIL_LINES = 30;

export interface RunOptions {
  /** What the command is doing, to open its error with: "packing the image's layer". */
  readonly what?: string;
  readonly cwd?: string;
  /** Bound on the run time (default 60 s); Infinity for none. */
  readonly timeoutMs?: number;
  readonly env?: NodeJS.ProcessEnv;
  /** Said when the command is missing: which package brings it. */
  readonly installHint?: string;
  /** Said on any failure, missing or failing: what to do about it. */
  readonly hint?: string;
}

/**
 * Runs a command to completion and returns its stdout. A failure says what was being done
 * (`what`), the command, why it failed (the tail of its stderr, a timeout, or that it is
 * not installed, with `installHint`) and, where given, the `hint`.
 */
export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<string> {
  const timeoutMs = options.timeoutMs ?? COMMAND_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    execFile(command, args, {
      // execFile's 0 means no bound.
      timeout: Number.isFinite(timeoutMs) ? timeoutMs : 0, encoding: "utf8", maxBuffer: COMMAND_OUTPUT_BYTES_MAX,
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
      ...(options.env === undefined ? {} : { env: options.env }),
    }, (error, stdout, stderr) => {
      if (error === null) return resolve(stdout);
      const code = (error as NodeJS.ErrnoException).code;
      const missing = code === "ENOENT";
      // execFile kills the command itself on a timeout, and also when its output overflows.
      const timedOut = error.killed === true && code !== "ERR_CHILD_PROCESS_STDIO_MAXBUFFER" && Number.isFinite(timeoutMs);
      const detail = stderr.trim().split("\n").slice(-STDERR_TAIL_LINES).join("\n") || (timedOut ? "" : error.message.trim());
      const why = missing
        ? `${command} is not installed${options.installHint === undefined ? " (not found on PATH)" : `: ${options.installHint}`}`
        : `\`${[command, ...args].join(" ")}\` ${timedOut ? `timed out after ${timeoutMs} ms` : "failed"}${detail === "" ? "" : `: ${detail}`}`;
      const lines = [options.what === undefined ? why : `${options.what}: ${why}`, ...(options.hint === undefined ? [] : [options.hint])];
      reject(new Error(lines.join("\n")));
    });
  });
}

/** Like run, but a failure is only recorded: clean-up must go on past one failure. */
export async function runQuietly(command: string, args: readonly string[], problems: string[], options: RunOptions = {}): Promise<string> {
  try {
    return await run(command, args, options);
  } catch (error) {
    problems.push((error as Error).message);
    return "";
  }
}

/** True while a process with this id exists (EPERM: it exists but is not ours to signal). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** True only if the pid still runs a command whose arguments name `dir`: a reused pid never matches. */
export function runsFrom(pid: number, dir: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(dir);
  } catch {
    return false;
  }
}

/** SIGKILLs the pid if it still runs from `dir` (see runsFrom); one that exits meanwhile is no error. */
export function killIfRunsFrom(pid: number, dir: string): void {
  if (!runsFrom(pid, dir)) return;
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // exited between the check and the signal
  }
}
