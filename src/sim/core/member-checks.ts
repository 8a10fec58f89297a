import { crc32c } from "@node-rs/crc32";
import type { Message } from "../../raft/messages.js";
import type { Configuration, Entry, NodeId, SnapshotMeta } from "../../raft/types.js";
import { EntryType } from "../../raft/types.js";
import type { Tracer } from "../../trace/index.js";
import type { SafetyChecker } from "./checker.js";
import { violation } from "./checker.js";
import type { SimStorage } from "./sim-storage.js";
import type { ApplyOutcome } from "./state-machine.js";
import type { SimStats } from "./types.js";

/** What the checks read of a member's Raft core: RaftNode has it, and so does the production Replica. */
export interface CoreView {
  isLeader(): boolean;
  currentTerm(): number;
  commitIndex(): number;
  logLastIndex(): number;
  configuration(): Configuration;
  logFirstIndex(): number;
  logTerm(index: number): number | undefined;
  pendingConfChangeCount(): number;
}

/**
 * The simulator's checks of one member, whichever loop drives its core: after each input
 * (elections, leader completeness, the leader's commits, one conf change at a time), at
 * the network edge, and on every message against what its disk holds at that moment.
 */
export class MemberChecks {
  private lastLeaderTerm = 0;
  /** The commit index this member last had as leader of lastLeaderTerm. */
  private leaderCommitSeen = 0;
  /** The index of this member's first entry as leader of lastLeaderTerm. */
  private leaderTermStartIndex = 0;
  /** After a lost disk: the highest index committed anywhere when it was lost (0: caught up). */
  private wipedCatchUpIndex = 0;

  constructor(
    private readonly id: NodeId,
    private readonly checker: SafetyChecker,
    private readonly stats: SimStats,
    private readonly tracer: Tracer,
    private readonly disk: SimStorage,
  ) {}

  /** True from a lost disk until the member has caught up again (it is non-voting meanwhile). */
  get catchingUpAfterLostDisk(): boolean {
    return this.wipedCatchUpIndex > 0;
  }

  /** The member lost its disk: it must not vote before it has caught up to what was committed. */
  diskLost(): void {
    this.wipedCatchUpIndex = Math.max(1, this.checker.maxCommitted);
  }

  /** A new process: its leadership (if any) starts again. */
  restarted(): void {
    this.lastLeaderTerm = 0;
  }

  afterInput(core: CoreView): void {
    if (this.wipedCatchUpIndex > 0 && this.disk.hardState().commit >= this.wipedCatchUpIndex) this.wipedCatchUpIndex = 0;
    if (!core.isLeader()) return;
    const checker = this.checker;
    const term = core.currentTerm();
    const commit = core.commitIndex();
    checker.recordLeaderCommit(term, commit);
    if (term !== this.lastLeaderTerm) {
      this.lastLeaderTerm = term;
      checker.leaderElected(term, this.id);
      checker.checkLeaderCompleteness(this.id, term, core.logFirstIndex(), (index) => core.logTerm(index));
      this.stats.elections++;
      const lastIndex = core.logLastIndex();
      if (this.tracer.enabled) this.tracer.local(`elected term=${term} last=${lastIndex}`);
      this.leaderCommitSeen = commit;
      this.leaderTermStartIndex = lastIndex; // The no-op a new leader appends.
    }
    if (commit > this.leaderCommitSeen) {
      checker.checkLeaderCommit(this.id, term, commit, core.logTerm(commit));
      this.leaderCommitSeen = commit;
    }
    if (core.pendingConfChangeCount() > 1) {
      violation("one-conf-change-at-a-time", `leader ${this.id} has ${core.pendingConfChangeCount()} uncommitted configuration changes in its log`);
    }
  }

  /**
   * As a server's peer port does (server/peer-gate.ts): the edge checks first. Returns
   * whether `m` may be stepped. A sender outside the configuration is dropped; any other
   * refusal means a correct member sent what the checks call impossible.
   */
  admits(m: Message, refusal: string | undefined, config: Configuration): boolean {
    if (refusal === undefined) return true;
    if (config.voters.includes(m.from) || config.learners.includes(m.from)) violation("edge-checks", `node ${this.id} refused a ${m.type} from member ${m.from}: ${refusal}`);
    return false;
  }

  /** Every message leaves through here, checked against what the disk holds now. */
  beforeSend(m: Message): void {
    const disk = this.disk;
    const hs = disk.hardState();
    this.checker.checkDurableBeforeSend(m, {
      term: hs.term,
      vote: hs.vote,
      hasEntry: (index) => index <= disk.snapshotMeta().index || disk.term(index) !== undefined,
    });
    if (m.type === "VoteResp" && !m.reject && this.wipedCatchUpIndex > 0) {
      violation("wiped-node-votes", `node ${this.id} lost its disk and granted a vote (to ${m.to}, term ${m.term}) before catching up to index ${this.wipedCatchUpIndex}`);
    }
    if (m.type === "ReadIndexResp" && !m.reject) this.readIndexConfirmed(m.term, m.index);
  }

  /** A read index this member confirmed as leader of `term`: it must not precede the term's first entry. */
  readIndexConfirmed(term: number, index: number): void {
    this.checker.checkReadIndex(this.id, term, index, this.leaderTermStartIndex);
  }

  /** Entries apply one after another: `entry` must follow what was applied before it. */
  applyOrder(entry: Entry, appliedBefore: number): void {
    const expected = appliedBefore + 1;
    if (entry.index !== expected) violation("apply-order", `node ${this.id} applies index ${entry.index}, expected ${expected}`);
  }

  /**
   * An entry applied, with its outcome (undefined for no-ops and configuration changes):
   * every member must render the same at each index, and a write with a session execute
   * once. Returns the rendering.
   */
  applied(entry: Entry, outcome: ApplyOutcome | undefined): string {
    const rendered = outcome?.rendered ?? `type-${entry.type}`;
    const first = this.checker.entryApplied(this.id, entry, rendered);
    if (first && outcome?.exactlyOnce !== undefined) this.checker.writeApplied(outcome.exactlyOnce.id, entry.index, outcome.exactlyOnce.executed);
    if (first && entry.type === EntryType.ConfChange) this.stats.membershipChanges++;
    return rendered;
  }

  /** Chunks arrive corrupted now and then (simulation.ts): none of their bytes may be installed. */
  snapshotInstalled(meta: SnapshotMeta, data: Uint8Array): void {
    if (meta.checksum !== undefined && crc32c(data) !== meta.checksum) {
      violation("snapshot-checksum", `node ${this.id} installs the snapshot at ${meta.index} with data whose CRC32C is not its checksum ${meta.checksum}`);
    }
    this.stats.snapshotInstalls++;
  }
}
