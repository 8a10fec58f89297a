import { describe, expect, it } from "vitest";
import type { ReplicaMember } from "../../src/sim/core/replica-member.js";
import { ReplicaCluster } from "./replica-cluster.js";

describe("the production Replica in the simulator (issue 17)", () => {
  it("elects a leader, commits writes and converges on every member, snapshots included", async () => {
    const cluster = new ReplicaCluster(11);
    const results = await cluster.writes(60, "k");
    expect(results.length).toBe(60);
    expect(results.every((result) => result.ok)).toBe(true);
    await cluster.converge();
    // 60 writes and a no-op pass snapshotEveryEntries (40): every member took a local snapshot, in slices.
    for (const member of cluster.members.values()) expect(member.disk.snapshotMeta().index).toBeGreaterThan(1);
    // The simulator's per-member checks (member-checks.ts) ran on every message and every durable entry, and passed.
    expect(cluster.stats.elections).toBeGreaterThanOrEqual(1);
    expect(cluster.checker.maxCommitted).toBeGreaterThanOrEqual(61);
    expect(cluster.stats.snapshotsTaken).toBeGreaterThanOrEqual(3);
    expect(cluster.log.filter((line) => line.includes("event") && line.endsWith("snapshot-saved")).length).toBeGreaterThanOrEqual(3);
  });

  it("replays a seed exactly: same seed, same messages and events at the same virtual times", async () => {
    const run = async (seed: number): Promise<string[]> => {
      const cluster = new ReplicaCluster(seed, { diskStallRate: 0.2 });
      await cluster.writes(30, "r");
      await cluster.converge();
      return cluster.log;
    };
    const first = await run(5);
    expect(first.length).toBeGreaterThan(200);
    expect(await run(5)).toEqual(first);
    expect(await run(6)).not.toEqual(first);
  });

  it("a member that crashes with a write in flight loses it, restarts from its disk and catches up", async () => {
    const cluster = new ReplicaCluster(3);
    await cluster.writes(5, "a");
    const leader = await cluster.elect();
    const follower = [...cluster.members.values()].find((member) => member !== leader) as ReplicaMember;
    let crashed = false;
    const durableBefore = follower.disk.lastIndex();
    follower.armCrash(() => { crashed = true; });
    await cluster.writes(5, "b");
    expect(crashed).toBe(true);
    expect(follower.alive).toBe(false);
    // The write it crashed at never reached its disk: the disk holds what it held before it.
    expect(follower.disk.lastIndex()).toBe(durableBefore);
    follower.restart();
    await cluster.writes(5, "c");
    await cluster.converge();
    expect(follower.replica?.state().appliedIndex).toBe(leader.replica?.state().appliedIndex);
  });

  it("catches a disk that reports writes done before they are durable: the Replica sends what its disk does not hold yet", async () => {
    const cluster = new ReplicaCluster(11, { plantDoneBeforeDurable: true });
    await expect(cluster.writes(60, "k")).rejects.toThrow(/durable-before-send: node \d sent \w+ of term \d+ while its durable term is \d+/);
  });

  it.each([1, 2, 3, 4, 5, 6])("seed %i: under crashes, lost messages and stalled disks every check holds and the members converge", async (seed) => {
    const cluster = new ReplicaCluster(seed, { diskStallRate: 0.05 });
    Object.assign(cluster.network.faults, { lossRate: 0.05, duplicateRate: 0.05, longDelayRate: 0.02 });
    cluster.crashes(150, 40, 1_500);
    const results = await cluster.writes(80, `s${seed}-`);
    Object.assign(cluster.network.faults, { lossRate: 0, duplicateRate: 0, longDelayRate: 0 });
    await cluster.loop.runUntil(() => [...cluster.members.values()].every((member) => member.alive), cluster.loop.now() + 1_000);
    await cluster.writes(3, "after-");
    await cluster.converge();
    expect(cluster.stats.crashes).toBeGreaterThan(0);
    expect(results.length).toBeGreaterThan(0);
    expect(cluster.checker.maxCommitted).toBeGreaterThan(results.length);
  });
});
