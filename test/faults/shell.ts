import { run as runCommand, runQuietly as runCommandQuietly, type RunOptions } from "../../src/devcluster/shell.js";

/**
 * The fault tests' commands (ip, tc, iptables) through the dev cluster's runner
 * (src/devcluster/shell.ts), with the fault tests' bound and install hint.
 */

/** Bound on one command's run time: network set-up commands finish in milliseconds. */
const COMMAND_TIMEOUT_MS = 20_000;

const OPTIONS: RunOptions = {
  timeoutMs: COMMAND_TIMEOUT_MS,
  installHint: "the fault tests need iproute2 (ip, tc) and iptables (apt-get install -y iproute2 iptables), and root",
};

/** Runs a command; rejects with its stderr, or with what to install when it is missing. */
export function run(command: string, args: readonly string[]): Promise<string> {
  return runCommand(command, args, OPTIONS);
}

/** Like run, but a failure is only reported: for clean-up, which must go on past one failure. */
export async function runQuietly(command: string, args: readonly string[], problems: string[]): Promise<void> {
  await runCommandQuietly(command, args, problems, OPTIONS);
}
