import { execFile } from "node:child_process";

/** Bound on one command's run time: set-up commands (ip, iptables, ctr) finish in seconds. */
const COMMAND_TIMEOUT_MS = 60_000;
/** ctr's listings and iptables' dumps are small; past this something is wrong. */
const COMMAND_OUTPUT_BYTES_MAX = 16 * 1024 * 1024;

export interface RunOptions {
  readonly timeoutMs?: number;
  readonly env?: NodeJS.ProcessEnv;
  /** Said when the command is missing: which package brings it. */
  readonly installHint?: string;
}

/** Runs a command to completion; rejects with its stderr, or with how to install it when it is missing. */
export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, {
      timeout: options.timeoutMs ?? COMMAND_TIMEOUT_MS, encoding: "utf8", maxBuffer: COMMAND_OUTPUT_BYTES_MAX,
      ...(options.env === undefined ? {} : { env: options.env }),
    }, (error, stdout, stderr) => {
      if (error === null) return resolve(stdout);
      const missing = (error as NodeJS.ErrnoException).code === "ENOENT";
      reject(new Error(missing
        ? `${command} is not installed${options.installHint === undefined ? "" : `: ${options.installHint}`}`
        : `\`${command} ${args.join(" ")}\` failed: ${stderr.trim() || error.message}`));
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
