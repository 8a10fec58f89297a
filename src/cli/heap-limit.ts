import { spawn } from "node:child_process";
import { getHeapStatistics } from "node:v8";
import { withMemberNodeFlags } from "../server/member-node-flags.js";

/** The share of the configured memory given to the JavaScript heap; the rest is buffers and code. */
const HEAP_SHARE = 0.75;
const REEXEC_MARK = "KVRAFT_HEAP_LIMIT_APPLIED";

/**
 * The Node heap limit is fixed at start, so a server told its memory (for pods: the
 * container's limit, through the downward API) starts itself again with
 * --max-old-space-size set from it (and a member's other V8 flags, member-node-flags.ts),
 * passing signals through and exiting with the child's status. Returns undefined when
 * the current process already has the limit.
 */
export async function reexecWithHeapLimit(memoryMib: number | undefined): Promise<number | undefined> {
  if (memoryMib === undefined || process.env[REEXEC_MARK] === "1") return undefined;
  const targetMib = Math.max(64, Math.floor(memoryMib * HEAP_SHARE));
  const currentMib = getHeapStatistics().heap_size_limit / (1024 * 1024);
  if (Math.abs(currentMib - targetMib) / targetMib < 0.1) return undefined;
  const child = spawn(process.execPath, [...withMemberNodeFlags(process.execArgv), `--max-old-space-size=${targetMib}`, ...process.argv.slice(1)], {
    stdio: "inherit",
    env: { ...process.env, [REEXEC_MARK]: "1" },
  });
  for (const signal of ["SIGTERM", "SIGINT"] as const) process.on(signal, () => child.kill(signal));
  return new Promise((resolve) => child.once("exit", (code, signal) => resolve(code ?? (signal === null ? 1 : 128))));
}
