import type { NodeId } from "../../raft/types.js";
import { ViolationError } from "./checker.js";
import type { SimClient } from "./clients.js";
import type { ReplicaMember } from "./replica-member.js";
import type { SimStats } from "./types.js";

/** After healing, a leader must commit a new entry within this long (liveness). */
const LIVENESS_MS = 3000;
/** A run goes on (healed) until its clients have done at least this many operations. */
export const MIN_CLIENT_OPS = 200;
/** How long a healed run may take to finish held work and reach the operation count. */
const FINISH_MS_MAX = 5000;
/** The probe's answer reaches the healed phase this long after the leader gives it (one hop). */
const PROBE_REPLY_DELAY_MS = 1;
/** A liveness probe unanswered for this long is sent again. */
const PROBE_TIMEOUT_MS = 200;
/** Clients keep working this long after the cluster has converged. */
const CALM_MS = 300;
/** Once a leader has committed after healing, every member must catch up within this long. */
const CONVERGENCE_MS = 3000;
/** How often an unmet condition of this phase (a leader, convergence, coverage) is looked at again. */
const RECHECK_MS = 20;
/** The leader crashed for coverage stays down this long. */
const FORCED_CRASH_DOWN_MS = 30;
/** A run still going this long after healing has lost liveness. */
export const HEALED_PHASE_MS_MAX = LIVENESS_MS + CONVERGENCE_MS + CALM_MS + FINISH_MS_MAX;

/** What the healed phase needs of the running simulation. */
export interface HealedCluster {
  readonly stats: SimStats;
  readonly clients: readonly SimClient[];
  now(): number;
  after(delayMs: number, action: () => void): void;
  trace(line: string): void;
  /** The leader of the highest term, if any node is one. */
  leaderNode(): ReplicaMember | undefined;
  /** The nodes that are members in that leader's view (or the initial voters). */
  memberNodes(): ReplicaMember[];
  armCrash(id: NodeId, onCrash: () => void): void;
  restart(id: NodeId, wiped: boolean): void;
  /** Whether work the fault schedule holds open (holdFinish) is still under way. */
  hasHeldWork(): boolean;
}

/**
 * The run's last phase, once the faults are lifted: a leader must commit a new entry
 * (liveness), every member must catch up to the same state (convergence), and the
 * clients carry on until the run has what every seed must cover. A broken property
 * throws a ViolationError into the run loop; `onDone` ends the run.
 */
export class HealedPhase {
  private readonly livenessDeadlineMs: number;
  private probeSeq = 0;
  private answered = false;
  private forcedCrash = false;

  constructor(private readonly cluster: HealedCluster, private readonly onDone: () => void) {
    this.livenessDeadlineMs = cluster.now() + LIVENESS_MS;
  }

  start(): void {
    this.probe();
  }

  private probe(): void {
    const { cluster } = this;
    if (cluster.now() > this.livenessDeadlineMs) throw new ViolationError({ invariant: "liveness", message: `no leader committed a new entry within ${LIVENESS_MS} ms of healing` });
    const leader = cluster.leaderNode();
    const sent = ++this.probeSeq;
    const answered = leader?.probe();
    if (answered === undefined) {
      cluster.after(RECHECK_MS, () => this.probe());
      return;
    }
    // Answered after a hop, as over the network; the first success moves on to convergence.
    answered.then(() => cluster.after(PROBE_REPLY_DELAY_MS, () => this.probeAnswered()), () => cluster.after(PROBE_REPLY_DELAY_MS, () => {
      if (this.probeSeq === sent && !this.answered) cluster.after(RECHECK_MS, () => this.probe());
    }));
    // A probe whose leader loses it without answering is simply sent again.
    cluster.after(PROBE_TIMEOUT_MS, () => {
      if (this.probeSeq === sent && !this.answered) this.probe();
    });
  }

  private probeAnswered(): void {
    if (this.answered) return;
    this.answered = true;
    this.awaitConvergence();
  }

  /**
   * Clients pause (operations under way finish), every member catches up to the
   * leader's commit, and all must hold the same state; then clients carry on.
   */
  private awaitConvergence(): void {
    const { cluster } = this;
    const deadline = cluster.now() + CONVERGENCE_MS;
    for (const client of cluster.clients) client.pause();
    const check = (): void => {
      const leader = cluster.leaderNode();
      const status = leader?.replica?.status();
      const commit = status?.commit ?? 0;
      const members = cluster.memberNodes();
      const quiet = cluster.clients.every((client) => client.isIdle()) && status?.lastIndex === commit;
      const caughtUp = leader !== undefined && quiet && members.every((node) => node.replica !== undefined && node.appliedIndex() >= commit);
      if (caughtUp) {
        const digests = new Set(members.filter((node) => node.appliedIndex() === commit).map((node) => node.digest()));
        if (digests.size > 1) throw new ViolationError({ invariant: "replica-convergence", message: `members at applied index ${commit} have ${digests.size} different state digests` });
        // Clients work on in the healed cluster for a while: that is when lost or
        // stale data would show.
        for (const client of cluster.clients) client.resume();
        cluster.after(CALM_MS, () => this.finishWhenCovered());
        return;
      }
      if (cluster.now() > deadline) throw new ViolationError({ invariant: "liveness", message: `members did not catch up to commit ${commit} within ${CONVERGENCE_MS} ms` });
      cluster.after(RECHECK_MS, check);
    };
    check();
  }

  /** Ends the run once held work is done and the clients have done enough operations. */
  private finishWhenCovered(): void {
    const { cluster } = this;
    if (cluster.stats.lossyCrashes === 0 && !this.forcedCrash) {
      // Every seed must lose an unsynced write at least once: the leader writes whenever
      // a client does, so a crash armed on it lands mid-write.
      const leader = cluster.leaderNode()?.id;
      if (leader !== undefined) {
        this.forcedCrash = true;
        cluster.trace(`coverage: arming a crash on leader ${leader} at its next write`);
        cluster.armCrash(leader, () => cluster.after(FORCED_CRASH_DOWN_MS, () => cluster.restart(leader, false)));
      }
    }
    if (cluster.hasHeldWork() || cluster.stats.clientOps < MIN_CLIENT_OPS || cluster.stats.lossyCrashes === 0) {
      cluster.after(RECHECK_MS, () => this.finishWhenCovered());
      return;
    }
    for (const client of cluster.clients) client.stopped = true;
    this.onDone();
  }
}
