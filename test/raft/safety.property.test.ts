import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Message } from "../../src/raft/messages.js";
import type { NodeId } from "../../src/raft/types.js";
import { Cluster } from "./harness.js";

/**
 * Raft's safety properties under an adversarial schedule: any interleaving of ticks,
 * message delivery, loss, duplication and reordering, proposals, crashes (after the
 * node's last write, or right after a step whose write it never made) and lost disks
 * (the node restarts empty and non-voting) must never produce
 * - two leaders in one term (election safety, §5.2), nor
 * - two different entries applied at one index (state machine safety, §5.4.3),
 * and the committed prefixes of every two logs must match (log matching, §5.3).
 * Liveness too: once the faults stop, with at most one disk lost, the cluster must
 * converge (this found the wiped-follower livelock, see non-voting.test.ts).
 *
 * The harness checks the first two on every step. To replay a failure, run with the
 * seed and path fast-check prints: RAFT_PROPERTY_SEED=<seed> RAFT_PROPERTY_PATH=<path>.
 * (It finds the planted vote-without-log-check within a few hundred runs.)
 */

type Command =
  | { readonly kind: "tick"; readonly node: NodeId }
  | { readonly kind: "deliver" | "drop" | "duplicate"; readonly pick: number }
  | { readonly kind: "deliverThenCrash"; readonly pick: number }
  | { readonly kind: "propose" }
  | { readonly kind: "crash" | "wipe"; readonly node: NodeId };

const NODES: readonly NodeId[] = [1, 2, 3];
const node = fc.constantFrom(...NODES);
const pick = fc.nat();

const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 30, arbitrary: node.map((n) => ({ kind: "tick" as const, node: n })) },
  { weight: 40, arbitrary: pick.map((p) => ({ kind: "deliver" as const, pick: p })) },
  { weight: 5, arbitrary: pick.map((p) => ({ kind: "drop" as const, pick: p })) },
  { weight: 5, arbitrary: pick.map((p) => ({ kind: "duplicate" as const, pick: p })) },
  { weight: 2, arbitrary: pick.map((p) => ({ kind: "deliverThenCrash" as const, pick: p })) },
  { weight: 10, arbitrary: fc.constant({ kind: "propose" as const }) },
  { weight: 2, arbitrary: node.map((n) => ({ kind: "crash" as const, node: n })) },
  { weight: 1, arbitrary: node.map((n) => ({ kind: "wipe" as const, node: n })) },
);

function takeAt(cluster: Cluster, pickIndex: number, remove: boolean): Message | undefined {
  if (cluster.queue.length === 0) return undefined;
  const index = pickIndex % cluster.queue.length;
  const m = cluster.queue[index] as Message;
  if (remove) cluster.queue.splice(index, 1);
  return m;
}

/** Runs the schedule; lost disks beyond `wipesMax` are ignored. */
function run(commands: readonly Command[], wipesMax = Number.POSITIVE_INFINITY): Cluster {
  const cluster = new Cluster(NODES, { config: { electionTicks: 5, heartbeatTicks: 1 } });
  let proposals = 0;
  let wipes = 0;
  for (const c of commands) {
    switch (c.kind) {
      case "tick":
        cluster.tick(c.node);
        break;
      case "deliver": {
        const m = takeAt(cluster, c.pick, true);
        if (m !== undefined) cluster.deliver(m);
        break;
      }
      case "drop":
        takeAt(cluster, c.pick, true);
        break;
      case "duplicate": {
        const m = takeAt(cluster, c.pick, false);
        if (m !== undefined) cluster.deliver(m);
        break;
      }
      case "deliverThenCrash": {
        // The node steps the message, then dies before writing (or sending) anything.
        const m = takeAt(cluster, c.pick, true);
        if (m === undefined) break;
        cluster.deliver(m);
        if (cluster.member(m.to).raft !== undefined) cluster.restart(m.to);
        break;
      }
      case "propose": {
        const leader = cluster.leader();
        if (leader !== undefined) cluster.propose(leader, `p${++proposals}`);
        break;
      }
      case "crash":
        cluster.restart(c.node);
        break;
      case "wipe":
        // The disk is lost: the node starts empty and non-voting until caught up.
        if (wipes++ < wipesMax) cluster.restart(c.node, { wipe: true, startNonVoting: true });
        break;
    }
    cluster.flush();
  }
  return cluster;
}

function checkLogMatching(cluster: Cluster): void {
  for (const a of NODES) {
    for (const b of NODES) {
      if (a >= b) continue;
      const na = cluster.node(a);
      const nb = cluster.node(b);
      const upTo = Math.min(na.status().commit, nb.status().commit);
      const from = Math.max(na.logFirstIndex(), nb.logFirstIndex());
      for (let index = from; index <= upTo; index++) {
        expect(na.logTerm(index), `log matching: nodes ${a} and ${b} at committed index ${index}`).toBe(nb.logTerm(index));
      }
    }
  }
}

/**
 * Heals the cluster (every node up, the network reliable) and ticks it: within a
 * bounded time it must elect a leader, commit a new entry everywhere and let every
 * node vote again.
 */
function checkConverges(cluster: Cluster): void {
  for (let round = 0; round < 60; round++) cluster.tickAll(1);
  const leader = cluster.leader();
  expect(leader, "a leader after healing").toBeDefined();
  const index = cluster.mustPropose(leader as NodeId, "final");
  cluster.tickAll(5);
  for (const id of NODES) {
    expect(cluster.status(id), `node ${id} after healing`).toMatchObject({ leader, commit: index, nonVoting: false });
  }
}

const envNumber = (name: string): number | undefined => {
  const value = process.env[name];
  return value === undefined || value === "" ? undefined : Number(value);
};

const RUNS = 1000;

describe("raft safety under random schedules (fast-check)", () => {
  it("never two leaders in one term, never two different entries committed at one index", () => {
    let sawLeader = 0;
    let sawCommit = 0;
    fc.assert(
      fc.property(fc.array(command, { minLength: 100, maxLength: 600 }), (commands) => {
        const cluster = run(commands);
        checkLogMatching(cluster);
        if (cluster.leaders.size > 0) sawLeader++;
        if (cluster.committed.size > 1) sawCommit++;
      }),
      { numRuns: RUNS, seed: envNumber("RAFT_PROPERTY_SEED"), path: process.env.RAFT_PROPERTY_PATH || undefined },
    );
    // The schedules must exercise something: leaders get elected and entries commit.
    expect(sawLeader).toBeGreaterThan(RUNS / 2);
    expect(sawCommit).toBeGreaterThan(RUNS / 8);
  });

  it("after the faults stop, the cluster converges: one leader, every entry committed everywhere, every node voting (at most one lost disk)", () => {
    fc.assert(
      fc.property(fc.array(command, { minLength: 100, maxLength: 600 }), (commands) => {
        checkConverges(run(commands, 1));
      }),
      { numRuns: RUNS / 4, seed: envNumber("RAFT_PROPERTY_SEED"), path: process.env.RAFT_PROPERTY_PATH || undefined },
    );
  });
});
