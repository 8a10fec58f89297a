import { maybeCommit } from "./commit.js";
import { trackConfChanges } from "./membership.js";
import type { AppendResponse, HeartbeatResponse, Message } from "./messages.js";
import { ENTRY_OVERHEAD_BYTES, entriesBytes } from "./messages.js";
import type { NodeState } from "./node-state.js";
import { newSession, send } from "./node-state.js";
import { Progress } from "./progress.js";
import { isMember, isVoter } from "./quorum.js";
import { acknowledgeReads, handleRemoteReads } from "./reads.js";
import { handleSnapshotResponse, resendStalledSnapshot, startSnapshot } from "./snapshot-sender.js";
import type { Entry, NodeId } from "./types.js";
import { EntryType } from "./types.js";

/**
 * The leader's side of replication: appending to its own log, sending appends within
 * each follower's flow-control window, heartbeats, and the answers to both.
 */

export function stepLeader(n: NodeState, m: Message): void {
  const pr = n.leading.progress.get(m.from);
  switch (m.type) {
    case "AppResp":
      if (pr !== undefined) handleAppendResponse(n, pr, m);
      return;
    case "HeartbeatResp":
      if (pr !== undefined) handleHeartbeatResponse(n, pr, m);
      return;
    case "SnapResp":
      if (pr !== undefined) handleSnapshotResponse(n, pr, m);
      return;
    case "ReadIndex":
      handleRemoteReads(n, m);
      return;
    default:
      return;
  }
}

export function addProgress(n: NodeState, id: NodeId): void {
  const pr = new Progress(id, n.log.lastIndex() + 1, newSession(n));
  if (id === n.id) {
    pr.match = n.log.stableLastIndex();
    pr.recentActive = true;
    pr.acknowledged = true;
    pr.state = "replicate";
  }
  n.leading.progress.set(id, pr);
}

export function appendEntries(n: NodeState, items: readonly { type: EntryType; data: Uint8Array }[]): number {
  let index = n.log.lastIndex();
  const entries: Entry[] = items.map((item) => ({ term: n.term, index: ++index, type: item.type, data: item.data }));
  n.log.append(entries);
  trackConfChanges(n, entries);
  for (const entry of entries) {
    const bytes = entry.data.length + ENTRY_OVERHEAD_BYTES;
    n.leading.uncommitted.push({ index: entry.index, bytes });
    n.leading.uncommittedBytes += bytes;
  }
  return index;
}

/**
 * A follower says it may have lost entries it acknowledged. Append an entry for it
 * to catch up past: appended now, after the follower restarted, it follows every
 * entry that could have been committed with that follower's lost acknowledgement.
 */
export function noteNonVoting(n: NodeState, pr: Progress, nonVoting: boolean): void {
  pr.recentActive = true;
  pr.ticksSinceHeard = 0;
  pr.acknowledged = true;
  const becameNonVoting = nonVoting && !pr.nonVoting;
  // A barrier belongs to one episode: once the follower votes again it is spent, so a
  // later loss (say, a second wiped disk) is never cleared by an old barrier.
  if (!nonVoting && pr.nonVoting) pr.votingBarrier = 0;
  pr.nonVoting = nonVoting;
  if (becameNonVoting && isMember(n.config, pr.id)) {
    // What it acknowledged may be lost: forget its match (a stale match would keep
    // the probe above its real log forever) and find its log again by probing.
    pr.match = 0;
    if (pr.state !== "snapshot") {
      pr.becomeProbe(newSession(n));
      pr.next = n.log.lastIndex() + 1;
    }
    pr.votingBarrier = appendEntries(n, [{ type: EntryType.Noop, data: new Uint8Array(0) }]);
    n.leading.broadcastPending = true;
  }
}

function handleAppendResponse(n: NodeState, pr: Progress, m: AppendResponse): void {
  noteNonVoting(n, pr, m.nonVoting);
  if (m.session !== pr.session) return; // A reply to an earlier round of replication.
  if (m.reject) {
    const nextToTry = m.hintTerm > 0
      ? n.log.findConflictByTerm(m.hintIndex, m.hintTerm).index + 1
      : m.hintIndex + 1;
    if (pr.maybeDecrTo(m.index, nextToTry)) {
      if (pr.state === "replicate") {
        pr.becomeProbe(newSession(n));
        pr.next = Math.max(pr.match + 1, Math.min(nextToTry, pr.next));
      }
      sendAppend(n, pr, true);
    }
    return;
  }
  const wasPaused = pr.isPaused(n.cfg.inflightMessagesMax, n.cfg.inflightBytesMax);
  const moved = pr.maybeUpdate(m.index);
  // A probe answered at the match (say, the one sent after a snapshot) found the log.
  if (pr.state === "probe" && m.index >= pr.match) pr.becomeReplicate(pr.session);
  if (moved && maybeCommit(n)) {
    broadcastAppend(n, true);
  } else if (sendAppend(n, pr, wasPaused)) {
    // A follower that was held back gets an append even with nothing new (it may not
    // know the commit yet); then fill its window.
    while (sendAppend(n, pr, false));
  }
  if (pr.id === n.election.leadTransferee && pr.match === n.log.lastIndex()) {
    send(n, { type: "TimeoutNow", to: pr.id, term: n.term });
  }
}

function handleHeartbeatResponse(n: NodeState, pr: Progress, m: HeartbeatResponse): void {
  noteNonVoting(n, pr, m.nonVoting);
  if (pr.state === "probe") pr.probeSent = false;
  pr.freeOldestIfFull(n.cfg.inflightMessagesMax, n.cfg.inflightBytesMax);
  if (pr.state === "snapshot") resendStalledSnapshot(n, pr);
  else if (pr.match < n.log.lastIndex() || m.behind) sendAppend(n, pr, true);
  if (!m.nonVoting && isVoter(n.config, pr.id)) acknowledgeReads(n, pr.id, m.round);
}

/** Sends entries from pr.next; returns whether a message was sent. */
export function sendAppend(n: NodeState, pr: Progress, allowEmpty: boolean): boolean {
  if (pr.id === n.id) return false;
  if (pr.isPaused(n.cfg.inflightMessagesMax, n.cfg.inflightBytesMax)) return false;
  const prevIndex = pr.next - 1;
  const prevTerm = n.log.term(prevIndex);
  // Test-only, the plant "append-over-byte-limit": a byte limit never applied, unseen while
  // the limit is far above what a batch of messageEntriesMax entries weighs.
  const bytesMax = n.cfg.testOnlyPlant === "append-over-byte-limit" ? Number.MAX_SAFE_INTEGER : n.cfg.messageBytesMax;
  const entries = n.log.slice(pr.next, n.log.lastIndex() + 1, bytesMax, n.cfg.messageEntriesMax);
  if (prevTerm === undefined || entries === undefined) {
    startSnapshot(n, pr); // What the follower needs was compacted away.
    return false;
  }
  if (entries.length === 0 && !allowEmpty && pr.state === "replicate") return false;
  send(n, { type: "App", to: pr.id, term: n.term, prevIndex, prevTerm, entries, commit: n.log.committed, session: pr.session, votingBarrier: pr.votingBarrier });
  const last = entries.length > 0 ? (entries[entries.length - 1] as Entry).index : prevIndex;
  pr.sentEntries(last, entriesBytes(entries), entries.length);
  return entries.length > 0;
}

export function broadcastAppend(n: NodeState, allowEmpty: boolean): void {
  for (const pr of n.leading.progress.values()) {
    if (pr.id === n.id) continue;
    let sent = sendAppend(n, pr, allowEmpty);
    while (sent) sent = sendAppend(n, pr, false);
  }
}

export function broadcastHeartbeat(n: NodeState): void {
  const round = n.reads.queue.latestRoundId();
  for (const pr of n.leading.progress.values()) {
    if (pr.id === n.id) continue;
    send(n, { type: "Heartbeat", to: pr.id, term: n.term, commit: n.log.committed, round });
    if (pr.state === "snapshot" && pr.snapshotTransfer !== undefined) pr.snapshotTransfer.sent = false;
  }
}
