import { describe, expect, it } from "vitest";
import { longestPause } from "../../src/bench/cluster/failover.js";
import { MEMORY_KEYS_MIN, rssGrowthMibPerMillionKeys } from "../../src/bench/cluster/footprint.js";
import { evaluateGoals, followerWriteRatio } from "../../src/bench/cluster/goals.js";
import { median, medianFigures, type RoundFigures } from "../../src/bench/cluster/measure.js";
import { caughtUp } from "../../src/bench/cluster/system.js";
import { compareWorkload } from "../../src/bench/cluster/compare.js";
import { selectWorkloads, WORKLOADS } from "../../src/bench/cluster/workloads.js";

const round = (opsPerSecond: number, p99: number, serverCpuPer1k?: number): RoundFigures => ({
  opsPerSecond, latency: { p50_ms: p99 / 4, p99_ms: p99, p999_ms: p99 * 2 }, serverCpuPer1k, loadgenCpuPer1k: 0.1,
  entriesPerFsync: undefined, errors: 0, firstErrors: [],
});

describe("kvraft bench cluster: the pure parts", () => {
  it("selects workloads by exact name or prefix, in the standard order, and refuses a name that matches nothing", () => {
    expect(selectWorkloads("get-*,put-1", false).map((w) => w.name)).toEqual(["put-1", "get-1", "get-16", "get-64", "get-256"]);
    expect(selectWorkloads(undefined, false)).toHaveLength(WORKLOADS.length);
    expect(selectWorkloads(undefined, true).map((w) => w.name)).toEqual(["put-1", "put-64", "get-64", "mix-64", "put-64-follower"]);
    expect(() => selectWorkloads("put-2", false)).toThrow(/put-2.*choose from/);
  });

  it("reports the median of each figure over the rounds", () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    const figures = medianFigures([round(100, 10, 0.5), round(300, 30), round(200, 20, 0.3)]);
    expect(figures).toMatchObject({ ops_per_s: 200, p99_ms: 20, server_cpu_s_per_1k: 0.4, rounds: 3 });
    expect(medianFigures([round(1, 1)]).server_cpu_s_per_1k).toBeNull();
  });

  it("judges the goals from the figures: ratio, p99 and CPU per put against etcd's", () => {
    const put64 = WORKLOADS.find((w) => w.name === "put-64");
    if (put64 === undefined) throw new Error("put-64 is a standard workload");
    const comparison = compareWorkload(put64, { kvraft: [round(5000, 50, 0.08)], etcd: [round(2000, 80, 0.2)] });
    expect(comparison.ratio).toBe(2.5);
    const goals = evaluateGoals([comparison], { fsyncMs: 1, loopbackMs: 0.05 }, undefined);
    expect(goals.map((g) => g.met)).toEqual([true, true, true]);
    const slower = compareWorkload(put64, { kvraft: [round(3000, 90, 0.15)], etcd: [round(2000, 80, 0.2)] });
    expect(evaluateGoals([slower], { fsyncMs: 1, loopbackMs: 0.05 }, undefined).map((g) => g.met)).toEqual([false, false, false]);
  });

  it("holds put-64 and get-64 to issue 15's 3x floor when both systems ran with TLS, and put-256 to the usual one", () => {
    const byName = (name: string): (typeof WORKLOADS)[number] => {
      const workload = WORKLOADS.find((w) => w.name === name);
      if (workload === undefined) throw new Error(`${name} is a standard workload`);
      return workload;
    };
    const at = (ratio: number, name: string) => compareWorkload(byName(name), { kvraft: [round(1000 * ratio, 50)], etcd: [round(1000, 80)] });
    const comparisons = [at(2.5, "put-64"), at(2.5, "put-256"), at(3.5, "get-64")];
    const throughput = (tls: boolean) => evaluateGoals(comparisons, { fsyncMs: 1, loopbackMs: 0.05 }, undefined, { tls }).filter((g) => g.goal.includes("throughput"));
    expect(throughput(false).map((g) => [g.goal, g.met])).toEqual([
      ["put-64 throughput >= 2x etcd", true], ["put-256 throughput >= 2x etcd", true], ["get-64 throughput >= 2x etcd", true],
    ]);
    expect(throughput(true).map((g) => [g.goal, g.met])).toEqual([
      ["put-64 throughput >= 3x etcd, both with TLS", false], ["put-256 throughput >= 2x etcd", true], ["get-64 throughput >= 3x etcd, both with TLS", true],
    ]);
  });

  it("judges writes through a follower against writes to the leader (issue 17: at least 0.8x), and prints the ratio beside the table", () => {
    const byName = (name: string): (typeof WORKLOADS)[number] => WORKLOADS.find((w) => w.name === name) ?? (() => { throw new Error(`${name} is a standard workload`); })();
    expect(byName("put-64-follower")).toMatchObject({ kind: "put", clients: 64, route: "follower" });
    const toLeader = compareWorkload(byName("put-64"), { kvraft: [round(10_000, 20)], etcd: [round(4000, 30)] });
    const goalOf = (followerOps: number) => evaluateGoals([toLeader, compareWorkload(byName("put-64-follower"), { kvraft: [round(followerOps, 25)], etcd: [round(3000, 40)] })],
      { fsyncMs: 1, loopbackMs: 0.05 }, undefined).find((g) => g.goal.startsWith("put-64-follower throughput"));
    expect(goalOf(8500)).toMatchObject({ measured: "0.85x (8500 vs 10000 ops/s)", met: true });
    expect(goalOf(7000)).toMatchObject({ measured: "0.7x (7000 vs 10000 ops/s)", met: false });
    const follower = compareWorkload(byName("put-64-follower"), { kvraft: [round(8500, 25)], etcd: [round(3000, 40)] });
    expect(followerWriteRatio([toLeader, follower])).toBe(0.85);
    expect(followerWriteRatio([toLeader, follower], "etcd")).toBe(0.75);
    expect(followerWriteRatio([toLeader]), "only one of the pair ran").toBeUndefined();
  });

  it("gives memory per million keys only when it can be trusted", () => {
    const mib = 1024 * 1024;
    expect(rssGrowthMibPerMillionKeys(100 * mib, 600 * mib, 1_000_000)).toBe(500);
    expect(rssGrowthMibPerMillionKeys(100 * mib, 150 * mib, 100_000)).toBe(500);
    expect(rssGrowthMibPerMillionKeys(100 * mib, 101 * mib, MEMORY_KEYS_MIN - 1), "too few keys").toBeNull();
    expect(rssGrowthMibPerMillionKeys(600 * mib, 500 * mib, 1_000_000), "memory shrank").toBeNull();
    expect(rssGrowthMibPerMillionKeys(undefined, 500 * mib, 1_000_000), "no reading").toBeNull();
  });

  it("judges put-1 against one fsync and two round trips, and names the bare relay measured beside it", () => {
    const put1 = WORKLOADS.find((w) => w.name === "put-1");
    if (put1 === undefined) throw new Error("put-1 is a standard workload");
    const comparison = compareWorkload(put1, { kvraft: [round(1000, 2)], etcd: [round(900, 2)] });
    const [fast] = evaluateGoals([comparison], { fsyncMs: 0.2, loopbackMs: 0.05, bareRelayMs: 0.3456 }, undefined);
    expect(fast).toMatchObject({ goal: expect.stringContaining("= 0.45 ms"), met: false });
    expect(fast?.measured).toBe("0.5 ms (the bare relay of the same messages and durable writes: 0.346 ms)");
    const [slowDisk] = evaluateGoals([comparison], { fsyncMs: 0.5, loopbackMs: 0.05 }, undefined);
    expect(slowDisk).toMatchObject({ measured: "0.5 ms", met: true });
  });

  it("measures a failover as the longest gap between acknowledgements from the signal on", () => {
    expect(longestPause([90, 100, 150, 400, 410], 100)).toBe(250);
    expect(longestPause([500, 510], 100)).toBe(400);
    expect(longestPause([], 100)).toBe(0);
  });

  it("counts a cluster caught up only when every member answers, follows one leader and has applied near the top commit", () => {
    const member = (leader: string, commit: number, applied: number) => ({ leader, commit, applied });
    expect(caughtUp([member("1", 500, 500), member("1", 500, 480), member("1", 490, 450)])).toBe(true);
    expect(caughtUp([member("1", 500, 500), undefined, member("1", 500, 500)])).toBe(false);
    expect(caughtUp([member("1", 500, 500), member("2", 500, 500), member("1", 500, 500)])).toBe(false);
    expect(caughtUp([member("1", 5000, 5000), member("1", 5000, 10), member("1", 5000, 5000)])).toBe(false);
    expect(caughtUp([member("0", 0, 0), member("0", 0, 0), member("0", 0, 0)])).toBe(false);
  });
});
