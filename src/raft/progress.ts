import { invariant } from "../assert/invariant.js";
import type { NodeId } from "./types.js";

/**
 * How far the leader believes one follower has got, and how it sends to it (etcd's
 * progress states):
 * - probe: one AppendEntries at a time until the follower's match is found;
 * - replicate: pipelined AppendEntries within a bounded in-flight window;
 * - snapshot: the follower needs a snapshot; appends wait until it is installed.
 *
 * `session` names one run of replication to this follower. It changes whenever the
 * leader starts probing again, starts a snapshot, or the member is re-added; responses
 * carry the session of the request they answer, and a response of an older session
 * never moves progress (a late reply from before a re-add or an earlier probe).
 */
export type ProgressState = "probe" | "replicate" | "snapshot";

interface Inflight {
  readonly lastIndex: number;
  readonly bytes: number;
}

export class Progress {
  state: ProgressState = "probe";
  match = 0;
  next: number;
  session: number;
  /** In probe state: an append was sent and no answer has come since. */
  probeSent = false;
  /** Heard from within the current check-quorum period. */
  recentActive = false;
  /** Leader ticks since this follower last answered (for health checks finer than check-quorum). */
  ticksSinceHeard = 0;
  /**
   * The follower has answered this leader at least once. ticksSinceHeard starts at 0 for
   * a member just added, so without this a member that never ran looks freshly heard.
   */
  acknowledged = false;
  /** The follower says it may have lost acknowledged entries: it does not count. */
  nonVoting = false;
  /** The entry appended for this non-voting follower to catch up past (0: none yet). */
  votingBarrier = 0;
  /** In snapshot state: the transfer in progress. */
  snapshotTransfer: { id: number; index: number; term: number; offset: number; sent: boolean } | undefined;
  private readonly inflights: Inflight[] = [];
  private inflightBytes = 0;

  constructor(readonly id: NodeId, next: number, session: number) {
    this.next = next;
    this.session = session;
  }

  becomeProbe(session: number): void {
    // After a snapshot the follower has everything up to the snapshot: probe from there.
    const from = this.state === "snapshot" && this.snapshotTransfer !== undefined
      ? Math.max(this.match + 1, this.snapshotTransfer.index + 1)
      : this.match + 1;
    this.reset("probe", session);
    this.next = from;
  }

  becomeReplicate(session: number): void {
    this.reset("replicate", session);
    this.next = this.match + 1;
  }

  becomeSnapshot(session: number, index: number, term: number): void {
    this.reset("snapshot", session);
    this.snapshotTransfer = { id: session, index, term, offset: 0, sent: false };
  }

  private reset(state: ProgressState, session: number): void {
    this.state = state;
    this.session = session;
    this.probeSent = false;
    this.snapshotTransfer = undefined;
    this.inflights.length = 0;
    this.inflightBytes = 0;
  }

  /** A successful response: returns true if it moved the match forward. */
  maybeUpdate(index: number): boolean {
    let moved = false;
    if (index > this.match) {
      this.match = index;
      moved = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, index + 1);
    this.freeUpTo(index);
    return moved;
  }

  /**
   * A rejection of an append at `rejected`, with the next index to try. In replicate
   * state, a rejection of anything but the newest send is stale; in probe state, only
   * a rejection of the index just probed counts.
   */
  maybeDecrTo(rejected: number, nextToTry: number): boolean {
    if (this.state === "replicate") {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, nextToTry), this.match + 1, 1);
    this.probeSent = false;
    return true;
  }

  /** Whether the leader must hold back appends to this follower for now. */
  isPaused(inflightMessagesMax: number, inflightBytesMax: number): boolean {
    switch (this.state) {
      case "probe":
        return this.probeSent;
      case "replicate":
        return this.inflights.length >= inflightMessagesMax || this.inflightBytes >= inflightBytesMax;
      case "snapshot":
        return true;
    }
  }

  /** Records an append sent with entries up to `lastIndex`. */
  sentEntries(lastIndex: number, bytes: number, entryCount: number): void {
    if (this.state === "replicate") {
      if (entryCount > 0) {
        invariant(lastIndex >= this.next, () =>
          `progress ${this.id}: sent last index ${lastIndex} is at least next ${this.next}`);
        this.next = lastIndex + 1;
        this.inflights.push({ lastIndex, bytes });
        this.inflightBytes += bytes;
      }
    } else if (this.state === "probe") {
      this.probeSent = true;
    }
  }

  /**
   * A heartbeat answered while the window is full: the appends in it may all have been
   * lost (a follower that restarted, a lossy link), and only their answers would free it.
   * Forgetting the oldest lets one append go out; a follower that lost them rejects it and
   * the leader probes back to its log (as etcd-raft frees one on a heartbeat response).
   */
  freeOldestIfFull(inflightMessagesMax: number, inflightBytesMax: number): void {
    if (this.state !== "replicate" || !this.isPaused(inflightMessagesMax, inflightBytesMax)) return;
    const oldest = this.inflights.shift();
    if (oldest !== undefined) this.inflightBytes -= oldest.bytes;
  }

  private freeUpTo(index: number): void {
    while (this.inflights.length > 0 && (this.inflights[0] as Inflight).lastIndex <= index) {
      this.inflightBytes -= (this.inflights.shift() as Inflight).bytes;
    }
  }

  inflightCount(): number {
    return this.inflights.length;
  }
}
