import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { CLI } from "../support/process-cluster.js";

const run = promisify(execFile);
/** A refused flag exits at once; past this the child is killed and the test fails. */
const EXIT_WAIT_MS = 10_000;

/** What `kvraft operator ARGS` (the built binary) exits with and prints on stderr. */
async function operatorRun(args: readonly string[]): Promise<{ code: number | null; stderr: string }> {
  try {
    await run(process.execPath, [CLI, "operator", "--metrics-port", "0", ...args], { timeout: EXIT_WAIT_MS, killSignal: "SIGKILL" });
    return { code: 0, stderr: "" };
  } catch (error) {
    const failed = error as { code?: number | string; stderr?: string };
    return { code: typeof failed.code === "number" ? failed.code : null, stderr: failed.stderr ?? "" };
  }
}

describe("kvraft operator --monitoring-namespace (the built binary)", () => {
  it("refuses a name that is not a namespace's before doing anything, saying what a name may hold", async () => {
    const result = await operatorRun(["--monitoring-namespace", "Not_A_Namespace"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--monitoring-namespace: "Not_A_Namespace" is not a namespace name');
  }, 20_000);
});

describe("kvraft operator --quorum-gone-after-ms (the built binary)", () => {
  it("refuses a bound under a minute, saying why", async () => {
    const result = await operatorRun(["--quorum-gone-after-ms", "5000"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--quorum-gone-after-ms: 5000 is outside 60000..604800000 (below a minute a restarting node");
  }, 20_000);
});
