import { describe, expect, it } from "vitest";
import type { KvResult } from "../../src/kv/index.js";
import { SeededRandom } from "../../src/raft/random.js";
import type { NodeId, SnapshotMeta } from "../../src/raft/types.js";
import { SafetyChecker } from "../../src/sim/core/checker.js";
import { bootstrapSnapshot } from "../../src/sim/core/kv-adapter.js";
import { Network } from "../../src/sim/core/network.js";
import { ReplicaMember } from "../../src/sim/core/replica-member.js";
import { emptyStats } from "../../src/sim/core/types.js";
import { VirtualLoop } from "../../src/sim/core/virtual-loop.js";
import { NO_TRACE } from "../../src/trace/index.js";

const encoder = new TextEncoder();
const VOTERS = [1, 2, 3];

/** Three members running the production Replica on the simulator's virtual time, disk and network. */
class ReplicaCluster {
  readonly loop = new VirtualLoop();
  readonly members = new Map<NodeId, ReplicaMember>();
  /** Every message sent and every replica event, with its virtual time: the run's fingerprint. */
  readonly log: string[] = [];
  readonly checker = new SafetyChecker({ voters: VOTERS, learners: [] });
  readonly stats = emptyStats();
  readonly network: Network;
  readonly random: SeededRandom;

  constructor(seed: number, diskStallRate = 0, plantDoneBeforeDurable = false) {
    const root = new SeededRandom(seed);
    this.network = new Network(root.fork());
    this.random = root.fork();
    const initial: SnapshotMeta = { index: 1, term: 1, config: { voters: VOTERS, learners: [] }, sizeBytes: 0 };
    const bootstrap = bootstrapSnapshot();
    for (const id of VOTERS) {
      const random = root.fork();
      const member = new ReplicaMember(id, {
        agenda: this.loop,
        random,
        faults: { diskStallRate },
        checker: this.checker,
        stats: this.stats,
        tracer: NO_TRACE,
        failed: (error) => this.loop.fail(error),
        plantDoneBeforeDurable,
        send: (m) => {
          this.log.push(`${this.loop.now().toFixed(3)} send ${m.type} ${m.from}>${m.to} term=${m.term}`);
          for (const delayMs of this.network.deliveries(m)) this.loop.after(delayMs, () => this.members.get(m.to)?.receive(m));
        },
        onEvent: (from, event) => this.log.push(`${this.loop.now().toFixed(3)} event ${from} ${event.type}`),
      }, initial, bootstrap, random.int(40) - 20);
      this.members.set(id, member);
      member.start();
    }
  }

  leader(): ReplicaMember | undefined {
    return [...this.members.values()].find((member) => member.replica?.isLeader() === true);
  }

  async elect(): Promise<ReplicaMember> {
    expect(await this.loop.runUntil(() => this.leader() !== undefined, this.loop.now() + 5_000)).toBe(true);
    return this.leader() as ReplicaMember;
  }

  /** Proposes `count` puts on the leader, one after another; resolves with their results. */
  async writes(count: number, prefix: string): Promise<KvResult[]> {
    const results: KvResult[] = [];
    for (let i = 0; i < count; i++) {
      const leader = await this.elect();
      const replica = leader.replica;
      if (replica === undefined) continue;
      let result: KvResult | undefined;
      let failed = false;
      replica.propose({ type: "put", key: encoder.encode(`${prefix}${i % 5}`), value: encoder.encode(`v${i}`) })
        .then((r) => { result = r; }, () => { failed = true; });
      // A leader that crashes never answers: its Replica is gone with the process.
      expect(await this.loop.runUntil(() => result !== undefined || failed || leader.replica !== replica, this.loop.now() + 10_000)).toBe(true);
      if (result !== undefined) results.push(result);
    }
    return results;
  }

  /** Every `everyMs` for `forMs`, a random member crashes (losing or tearing its writes in flight) and restarts `downMs` later. */
  crashes(everyMs: number, downMs: number, forMs: number): void {
    const endMs = this.loop.now() + forMs;
    const next = (): void => {
      if (this.loop.now() >= endMs) return;
      const member = this.members.get(this.random.pick(VOTERS)) as ReplicaMember;
      if (member.alive) {
        member.crash(); // Counts itself in stats (crashes, lossyCrashes).
        this.loop.after(downMs, () => member.start());
      }
      this.loop.after(everyMs * (0.5 + this.random.next()), next);
    };
    this.loop.after(everyMs, next);
  }

  /** Runs until every member is up and has applied what the leader applied, with the same state. */
  async converge(): Promise<void> {
    const converged = (): boolean => {
      const states = [...this.members.values()].map((member) => member.replica?.state());
      if (states.some((state) => state === undefined)) return false;
      const first = states[0];
      return states.every((state) => state?.appliedIndex === first?.appliedIndex && state?.digest() === first?.digest());
    };
    expect(await this.loop.runUntil(converged, this.loop.now() + 10_000)).toBe(true);
  }
}

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
      const cluster = new ReplicaCluster(seed, 0.2);
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
    const cluster = new ReplicaCluster(11, 0, true);
    await expect(cluster.writes(60, "k")).rejects.toThrow(/durable-before-send: node \d sent \w+ of term \d+ while its durable term is \d+/);
  });

  it.each([1, 2, 3, 4, 5, 6])("seed %i: under crashes, lost messages and stalled disks every check holds and the members converge", async (seed) => {
    const cluster = new ReplicaCluster(seed, 0.05);
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
