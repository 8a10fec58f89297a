import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { toolBinary } from "../../tools/go-tools.mjs";
import { BenchProcesses } from "./bench-processes.js";

/** Generous: two clusters start, one workload runs on each, both stop. */
const RUN_TIMEOUT_MS = 120_000;

const benches = new BenchProcesses();
const runBench = (args: readonly string[]) => benches.run(["cluster", ...args]);

/**
 * `kvraft bench cluster --json` in a tiny run: the shape of its lines and that both
 * systems were measured. Not speed: figures on a loaded machine are not assertions.
 */
describe("kvraft bench cluster", () => {
  beforeAll(async () => {
    // Builds etcd once (minutes when cold, then cached), so that the run itself is short.
    await toolBinary("etcd", "etcd");
  }, 600_000);

  afterEach(() => {
    // The bench stops its clusters itself; after a failure its whole process group is
    // killed: the bench has no signal handler, and a SIGTERM to it alone left its members running.
    benches.stopAll();
  });

  it("prints one JSON line per workload with both systems measured, then a summary", async () => {
    // The follower pair runs as one group, its rounds interleaved (round-plan.ts): both lines still come, in the standard order.
    const run = await runBench(["--workloads", "put-64-follower,put-64", "--rounds", "2", "--seconds", "0.3", "--warmup-seconds", "0", "--no-extras", "--json"]);
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout.trim().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toHaveLength(3);
    const [toLeader, follower, summary] = lines as [Record<string, unknown>, Record<string, unknown>, Record<string, unknown>];
    expect(toLeader).toMatchObject({ name: "put-64", kind: "put", clients: 64, value_bytes: 256 });
    expect(follower).toMatchObject({ name: "put-64-follower", kind: "put", clients: 64, value_bytes: 256 });
    for (const [workload, system] of [toLeader, follower].flatMap((w) => [[w, "kvraft"], [w, "etcd"]] as const)) {
      expect((workload[system] as Record<string, unknown>).rounds, `${String(workload.name)} on ${system}`).toBe(2);
      expect(workload[`${system}_ops`], `${system} did no operations`).toBeGreaterThan(0);
      const figures = workload[system] as Record<string, unknown>;
      expect(figures.errors, JSON.stringify(figures.first_errors)).toBe(0);
      expect(figures.server_cpu_s_per_1k).toBeGreaterThan(0);
      expect(figures.loadgen_cpu_s_per_1k).toBeGreaterThan(0);
      const latency = (workload.latencies as Record<string, Record<string, number>>)[system] as Record<string, number>;
      expect(latency.p50_ms).toBeGreaterThan(0);
      expect(latency.p99_ms).toBeGreaterThanOrEqual(latency.p50_ms as number);
      expect(latency.p999_ms).toBeGreaterThanOrEqual(latency.p99_ms as number);
    }
    for (const workload of [toLeader, follower]) expect(workload.ratio).toBeCloseTo((workload.kvraft_ops as number) / (workload.etcd_ops as number), 1);
    expect(summary.name).toBe("summary");
    expect(summary.etcd).toMatch(/^etcd 3\.6\./);
    expect((summary.disk as Record<string, number>).fsyncs_per_s).toBeGreaterThan(0);
    expect(summary.bare_relay_p50_ms, "the bare relay runs only with put-1").toBeNull();
    expect((summary.goals as { goal: string }[]).map((g) => g.goal)).toContainEqual(expect.stringMatching(/^put-64-follower throughput >= 0\.8x put-64's/));
    expect(benches.leftRunning(), "a member or etcd outlived the bench").toBe(false);
  }, RUN_TIMEOUT_MS);

  it("refuses a workload filter that matches nothing, naming the choices", async () => {
    const run = await runBench(["--workloads", "nope", "--json"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("put-64");
    expect(run.stdout).toBe("");
  }, RUN_TIMEOUT_MS);
});
