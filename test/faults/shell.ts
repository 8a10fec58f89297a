import { execFile } from "node:child_process";

/** Bound on one command's run time: network set-up commands finish in milliseconds. */
const COMMAND_TIMEOUT_MS = 20_000;

/** Runs a command; rejects with its stderr and what to check when it fails. */
export function run(command: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: COMMAND_TIMEOUT_MS, encoding: "utf8" }, (error, stdout, stderr) => {
      if (error === null) return resolve(stdout);
      const missing = (error as NodeJS.ErrnoException).code === "ENOENT";
      reject(new Error(missing
        ? `${command} is not installed: the fault tests need iproute2 (ip, tc) and iptables (apt-get install -y iproute2 iptables), and root`
        : `\`${command} ${args.join(" ")}\` failed: ${stderr.trim() || error.message}`));
    });
  });
}

/** Like run, but a failure is only reported: for clean-up, which must go on past one failure. */
export async function runQuietly(command: string, args: readonly string[], problems: string[]): Promise<void> {
  try {
    await run(command, args);
  } catch (error) {
    problems.push((error as Error).message);
  }
}
