import type { SeededRandom } from "../../raft/random.js";
import type { ProposalResult, RaftStatus } from "../../raft/ready.js";
import type { ConfChange, Configuration, NodeId } from "../../raft/types.js";
import { violation } from "./checker.js";
import type { Network } from "./network.js";
import type { Situations } from "./situations.js";
import { schedulePause } from "./situations.js";
import type { SimStats } from "./types.js";

/** What the fault schedule asks of a leader: its view, membership changes and transfers (answered at once). */
export interface LeaderAdmin {
  readonly id: NodeId;
  configuration(): Configuration;
  status(): RaftStatus;
  logTerm(index: number): number | undefined;
  proposeConfChange(change: ConfChange): ProposalResult;
  transferLeadership(to: NodeId): ProposalResult;
}

/** What the fault schedule may do to a running simulation. */
export interface SimControl {
  readonly random: SeededRandom;
  readonly network: Network;
  readonly stats: SimStats;
  now(): number;
  after(delayMs: number, action: () => void): void;
  allIds(): readonly NodeId[];
  /** Nodes that are members in the current leader's view (or the initial voters). */
  memberIds(): readonly NodeId[];
  voterIds(): readonly NodeId[];
  /** The configuration as of the highest committed change (what the cluster agreed). */
  committedConfiguration(): Configuration;
  leaderId(): NodeId | undefined;
  isAlive(id: NodeId): boolean;
  /** Whether the node's disk holds the entry (index, term), in its log or under its snapshot. */
  holdsDurably(id: NodeId, index: number, term: number): boolean;
  /** The node lost its disk and has not caught up since (it is non-voting until it has). */
  catchingUpAfterLostDisk(id: NodeId): boolean;
  /** Crashes the node at its next disk write (so it loses that write), then calls back. */
  armCrash(id: NodeId, onCrash: () => void): void;
  crash(id: NodeId): void;
  /** Stops a running member for `durationMs`, holding what reaches it (pause-gate.ts); false when it is not running (or paused already). */
  pause(id: NodeId, durationMs: number): boolean;
  restart(id: NodeId, wiped: boolean): void;
  withLeader(action: (leader: LeaderAdmin) => void): boolean;
  trace(line: string): void;
  /** Keeps the run from finishing until the returned function is called. */
  holdFinish(): () => void;
}

export interface FaultPlan {
  readonly startMs: number;
  readonly endMs: number;
  readonly situations: Situations;
}

/**
 * The default schedule: every seed gets partitions, crashes that land mid-write,
 * membership changes (with an attempt at a second change while one is pending), a
 * leadership transfer, network loss, duplication and delay, a member paused past an
 * election timeout, and sometimes a lost disk (more in situations.ts).
 */
export function scheduleFaults(sim: SimControl, plan: FaultPlan): void {
  const { random } = sim;
  const span = plan.endMs - plan.startMs;
  const at = (fraction: number): number => plan.startMs + fraction * span;
  sim.after(plan.startMs, () => {
    Object.assign(sim.network.faults, {
      lossRate: random.next() * 0.03, duplicateRate: random.next() * 0.03, longDelayRate: random.next() * 0.02,
      diskStallRate: random.next() * 0.1,
    });
  });
  schedulePartitions(sim, plan, 1 + random.int(3));
  const crashes = 1 + random.int(3);
  for (let i = 0; i < crashes; i++) scheduleCrash(sim, at(random.next() * 0.9));
  scheduleMembership(sim, at(0.05 + random.next() * 0.2));
  if (random.next() < 0.35) scheduleWipe(sim, at(random.next() * 0.8));
  const pauseAt = at(random.next() * 0.7);
  if (plan.situations.pauses) schedulePause(sim, pauseAt, plan.endMs);
  const transfers = 1 + random.int(2);
  for (let i = 0; i < transfers; i++) {
    sim.after(at(random.next()), () => {
      sim.withLeader((raft) => {
        const others = raft.configuration().voters.filter((id) => id !== raft.id);
        if (others.length > 0 && raft.transferLeadership(random.pick(others)).ok) sim.stats.leadershipTransfers++;
      });
    });
  }
}

function schedulePartitions(sim: SimControl, plan: FaultPlan, count: number): void {
  const slot = (plan.endMs - plan.startMs) / count;
  for (let i = 0; i < count; i++) {
    const start = plan.startMs + i * slot + sim.random.next() * slot * 0.3;
    const duration = 80 + sim.random.next() * Math.min(500, slot * 0.6);
    sim.after(start, () => {
      partitionOnce(sim);
      sim.stats.partitions++;
      sim.after(duration, () => sim.network.heal());
    });
  }
}

function partitionOnce(sim: SimControl): void {
  const { random, network } = sim;
  const ids = [...sim.allIds()];
  const leader = sim.leaderId();
  const kind = random.int(4);
  if (kind === 0 && leader !== undefined) {
    network.partition([[leader], ids.filter((id) => id !== leader)]);
  } else if (kind === 1) {
    const victim = random.pick(ids);
    for (const other of ids) if (other !== victim) network.cutLink(victim, other); // one-way: it cannot be heard
  } else if (kind === 2 && leader !== undefined) {
    for (const other of ids) if (other !== leader) network.cutLink(other, leader); // one-way: the leader hears no one
  } else {
    const shuffled = shuffle(ids, random);
    const cut = 1 + random.int(Math.floor(ids.length / 2));
    network.partition([shuffled.slice(0, cut), shuffled.slice(cut)]);
  }
}

function scheduleCrash(sim: SimControl, atMs: number, attemptsLeft = 5): void {
  sim.after(atMs, () => {
    const members = sim.memberIds().filter((id) => sim.isAlive(id));
    if (members.length === 0) return;
    const leader = sim.leaderId();
    const victim = leader !== undefined && sim.random.next() < 0.5 ? leader : sim.random.pick(members);
    const downMs = 30 + sim.random.next() * 300;
    let crashed = false;
    const onCrash = (): void => {
      if (crashed) return;
      crashed = true;
      sim.after(downMs, () => sim.restart(victim, false));
    };
    sim.armCrash(victim, onCrash);
    // A node cut off by a partition may not write for a while: crash it anyway after
    // a bound, and try again elsewhere so the run still has a crash that loses a write.
    sim.after(200, () => {
      if (crashed) return;
      sim.crash(victim);
      onCrash();
      if (attemptsLeft > 0 && sim.stats.lossyCrashes === 0) scheduleCrash(sim, 50, attemptsLeft - 1);
    });
  });
}

function scheduleWipe(sim: SimControl, atMs: number): void {
  sim.after(atMs, () => {
    const leader = sim.leaderId();
    const candidates = sim.voterIds().filter((id) => id !== leader && sim.isAlive(id));
    if (candidates.length === 0) return;
    const victim = sim.random.pick(candidates);
    sim.crash(victim);
    sim.after(20 + sim.random.next() * 200, () => sim.restart(victim, true));
  });
}

/**
 * Walks one membership plan, retrying each step until the leader accepts it and it
 * commits: with 3 voters, add a spare as a learner, promote it, then remove a voter;
 * with 5, remove one, wipe it, add it back as a learner and promote it.
 */
function scheduleMembership(sim: SimControl, startMs: number): void {
  // The plan may outlast the faults: the run waits for it (in a healed cluster it completes).
  const release = sim.holdFinish();
  sim.after(startMs, () => {
    const voters = sim.voterIds();
    const spare = sim.allIds().find((id) => !sim.memberIds().includes(id));
    const steps: ConfChange[] = [];
    if (voters.length <= 3 && spare !== undefined) {
      const removed = sim.random.pick(voters);
      steps.push({ type: "add-learner", nodeId: spare }, { type: "promote", nodeId: spare }, { type: "remove", nodeId: removed });
    } else {
      const removed = sim.random.pick(voters);
      steps.push({ type: "remove", nodeId: removed }, { type: "add-learner", nodeId: removed }, { type: "promote", nodeId: removed });
    }
    runSteps(sim, steps, release, true);
  });
}

function runSteps(sim: SimControl, steps: readonly ConfChange[], release: () => void, tryConcurrent: boolean): void {
  const [change, ...rest] = steps;
  if (change === undefined) {
    release();
    return;
  }
  let done = false;
  // Judged on the cluster's committed configuration: any one leader may be stale.
  if (isApplied(sim.committedConfiguration(), change)) {
    sim.trace(`membership: ${change.type} ${change.nodeId} is committed`);
    done = true;
  }
  if (!done) sim.withLeader((raft) => {
    const commit = raft.status().commit;
    const result = raft.proposeConfChange(change);
    if (result.ok && change.type === "promote") checkPromotedLearnerInSync(sim, raft, change.nodeId, commit);
    sim.trace(`membership: propose ${change.type} ${change.nodeId} at leader ${raft.id}: ${result.ok ? `index ${result.index}` : result.error.code}`);
    const next = rest[0];
    if (result.ok && tryConcurrent && next !== undefined && next.type !== "promote") {
      // A second change while the first is uncommitted must be refused (thesis §4.1).
      raft.proposeConfChange(next);
    }
  });
  if (done) {
    if (change.type === "remove" && rest[0]?.type === "add-learner") {
      // The removed member loses its disk before it is added back: it must catch up from nothing.
      sim.crash(change.nodeId);
      sim.after(10, () => sim.restart(change.nodeId, true));
    }
    sim.after(10, () => runSteps(sim, rest, release, false));
  } else {
    sim.after(25, () => runSteps(sim, steps, release, tryConcurrent));
  }
}

/**
 * A learner the leader accepts for promotion must hold every entry committed when the
 * promotion was asked for (as etcd's `member promote` requires). Judged on the learner's
 * own disk, not on what the leader believes: a learner that never ran, or has not yet
 * received the snapshot, would be a voter the next quorum waits for in vain.
 */
function checkPromotedLearnerInSync(sim: SimControl, leader: LeaderAdmin, learner: NodeId, commit: number): void {
  // A disk lost after the learner's last answer is invisible to any leader until the next
  // one (etcd's check has the same window). Such a member restarts non-voting, so it can
  // neither vote nor count toward a quorum before it has caught up (wiped-node-votes holds
  // that); this check is about learners the leader could have known were behind.
  if (sim.catchingUpAfterLostDisk(learner)) return;
  const term = leader.logTerm(commit);
  if (term !== undefined && !sim.holdsDurably(learner, commit, term)) {
    violation("promote-in-sync", `leader ${leader.id} accepted the promotion of learner ${learner}, whose disk does not hold the committed index ${commit} (term ${term})`);
  }
}

function isApplied(config: { voters: readonly NodeId[]; learners: readonly NodeId[] }, change: ConfChange): boolean {
  switch (change.type) {
    case "add-learner":
      return config.learners.includes(change.nodeId) || config.voters.includes(change.nodeId);
    case "promote":
      return config.voters.includes(change.nodeId);
    case "remove":
      return !config.voters.includes(change.nodeId) && !config.learners.includes(change.nodeId);
  }
}

function shuffle<T>(items: T[], random: SeededRandom): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = random.int(i + 1);
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}
