import { crc32c } from "@node-rs/crc32";
import { commitTo } from "./commit.js";
import { invariant } from "../assert/invariant.js";
import { forgetPendingConfChanges, trackConfChanges } from "./membership.js";
import type { AppendRequest, AppendResponse, Heartbeat, Message, SnapshotChunk, SnapshotResponse } from "./messages.js";
import type { NodeState } from "./node-state.js";
import { send } from "./node-state.js";
import { handleReadIndexResponse, rejectRemoteReads } from "./reads.js";
import type { NodeId, SnapshotMeta } from "./types.js";

/**
 * The follower's side of replication: appends, heartbeats and snapshot chunks from the
 * leader, and when a node that may have lost entries votes again.
 */

/**
 * `snapshotRefusal`: the host found the data of the snapshot that the last chunk `m`
 * completes unusable (server/snapshot-admission.ts: it does not decode); it is refused as
 * a checksum mismatch is. Ignored for any other message, or a chunk that installs nothing.
 */
export function stepFollower(n: NodeState, m: Message, snapshotRefusal?: string): void {
  switch (m.type) {
    case "App":
      acceptLeader(n, m.from);
      handleAppend(n, m);
      return;
    case "Heartbeat":
      acceptLeader(n, m.from);
      handleHeartbeat(n, m);
      return;
    case "Snap":
      acceptLeader(n, m.from);
      handleSnapshotChunk(n, m, snapshotRefusal);
      return;
    case "ReadIndex":
      rejectRemoteReads(n, m);
      return;
    case "ReadIndexResp":
      handleReadIndexResponse(n, m);
      return;
    default:
      return;
  }
}

function acceptLeader(n: NodeState, from: NodeId): void {
  n.electionElapsed = 0;
  if (n.leader !== from) {
    n.leader = from;
    n.following.matchedThisTerm = 0;
    n.following.votingBarrier = 0;
  }
}

function handleAppend(n: NodeState, m: AppendRequest): void {
  const following = n.following;
  if (m.votingBarrier > 0) following.votingBarrier = m.votingBarrier;
  const respond = (fields: Pick<AppendResponse, "reject" | "index" | "hintIndex" | "hintTerm">): void =>
    send(n, { type: "AppResp", to: m.from, term: n.term, session: m.session, nonVoting: n.nonVoting, ...fields });
  if (m.prevIndex < n.log.committed) {
    respond({ reject: false, index: n.log.committed, hintIndex: 0, hintTerm: 0 });
    return;
  }
  const lastNew = plantedRetransmission(n, m) ?? n.log.maybeAppend(m.prevIndex, m.prevTerm, m.entries);
  withdrawStaleAcks(n);
  if (lastNew === undefined) {
    const hint = n.log.findConflictByTerm(Math.min(m.prevIndex, n.log.lastIndex()), m.prevTerm);
    respond({ reject: true, index: m.prevIndex, hintIndex: hint.index, hintTerm: hint.term });
    return;
  }
  if (m.entries.length > 0) trackConfChanges(n, m.entries);
  following.matchedThisTerm = Math.max(following.matchedThisTerm, lastNew);
  commitTo(n, Math.min(m.commit, lastNew));
  respond({ reject: false, index: lastNew, hintIndex: 0, hintTerm: 0 });
}

/**
 * Test-only, the core plant "append-skips-conflict-check": an append whose last entry
 * lies within the log is taken for a retransmission and acknowledged without comparing
 * its entries' terms. Harmless while a follower's stale tail is shorter than one batch
 * (the batch reaches past it); wrong once a batch cut by the byte or count limit ends
 * inside a longer stale tail from an older term.
 */
function plantedRetransmission(n: NodeState, m: AppendRequest): number | undefined {
  if (n.cfg.testOnlyPlant !== "append-skips-conflict-check" || m.entries.length === 0) return undefined;
  const lastNew = m.prevIndex + m.entries.length;
  return lastNew <= n.log.lastIndex() && n.log.matchTerm(m.prevIndex, m.prevTerm) ? lastNew : undefined;
}

/**
 * An acknowledgement waiting for this Ready's write claims entries up to its index
 * are durable. If, before the write, a newer leader's append replaced some of them,
 * the claim would be false by the time it is sent (an old leader could count it and
 * commit an entry that no longer exists here): withdraw such acknowledgements.
 */
function withdrawStaleAcks(n: NodeState): void {
  const from = n.log.takeTruncation();
  if (from === undefined) return;
  n.out.withdrawAcknowledgementsFrom(from);
}

function handleHeartbeat(n: NodeState, m: Heartbeat): void {
  commitTo(n, Math.min(m.commit, n.following.matchedThisTerm));
  const behind = n.log.committed < m.commit;
  send(n, { type: "HeartbeatResp", to: m.from, term: n.term, round: m.round, behind, nonVoting: n.nonVoting });
}

/**
 * Whether stepping `m` now would take it as the last chunk of a snapshot and install it,
 * what its data is then checked for: the host asks this before it steps a last chunk, to
 * check first that the snapshot decodes (server/snapshot-admission.ts). Mirrors
 * RaftNode.step and handleSnapshotChunk; read-only.
 */
export function completesSnapshot(n: NodeState, m: SnapshotChunk): boolean {
  if (!m.done || m.term < n.term || (m.term === n.term && n.role === "leader")) return false;
  if (m.offset === 0) return !(m.meta.index <= n.log.committed || n.log.matchTerm(m.meta.index, m.meta.term));
  const incoming = n.following.incoming;
  return incoming !== undefined && m.term === n.term && incoming.term === m.term && incoming.leader === m.from
    && incoming.transferId === m.transferId && incoming.received === m.offset;
}

function handleSnapshotChunk(n: NodeState, m: SnapshotChunk, hostRefusal: string | undefined): void {
  const following = n.following;
  const respond = (fields: Pick<SnapshotResponse, "nextOffset" | "done" | "reject">): void =>
    send(n, { type: "SnapResp", to: m.from, term: n.term, transferId: m.transferId, nonVoting: n.nonVoting, ...fields });
  if (m.offset === 0) {
    if (m.meta.index <= n.log.committed || n.log.matchTerm(m.meta.index, m.meta.term)) {
      // Raft §7: the log already holds the snapshot's last entry; keep what follows.
      if (m.meta.index > n.log.committed) commitTo(n, m.meta.index);
      following.matchedThisTerm = Math.max(following.matchedThisTerm, m.meta.index);
      respond({ nextOffset: m.meta.sizeBytes, done: true, reject: false });
      return;
    }
    following.incoming = { term: m.term, leader: m.from, transferId: m.transferId, meta: m.meta, received: 0, crc: 0 };
  }
  const incoming = following.incoming;
  if (incoming === undefined || incoming.term !== m.term || incoming.leader !== m.from || incoming.transferId !== m.transferId) {
    respond({ nextOffset: 0, done: false, reject: true });
    return;
  }
  if (m.offset !== incoming.received) {
    respond({ nextOffset: incoming.received, done: false, reject: false });
    return;
  }
  const crc = crc32c(m.data, incoming.crc);
  const refusal = !m.done ? undefined : m.meta.checksum !== undefined && crc !== m.meta.checksum
    ? `the snapshot at index ${m.meta.index} (term ${m.meta.term}, ${m.meta.sizeBytes} bytes) from member ${m.from} failed its CRC32C: its data has ${hex32(crc)}, the leader's checksum is ${hex32(m.meta.checksum)}`
    : hostRefusal;
  if (refusal !== undefined) {
    // Corrupted on the way, or unusable at the leader (its data does not decode): Raft
    // must never believe it installed. The transfer is dropped, the host discards its
    // bytes, and the rejection makes the leader start a new transfer from the first byte
    // (snapshot-sender.ts).
    following.incoming = undefined;
    n.out.snapshotChunks.push({ meta: m.meta, transferId: m.transferId, offset: m.offset, data: new Uint8Array(0), done: true, refusal });
    respond({ nextOffset: 0, done: false, reject: true });
    return;
  }
  n.out.snapshotChunks.push({ meta: m.meta, transferId: m.transferId, offset: m.offset, data: m.data, done: m.done });
  incoming.received += m.data.length;
  incoming.crc = crc;
  if (m.done) {
    invariant(incoming.received === m.meta.sizeBytes, () =>
      `snapshot: received ${incoming.received} bytes of a snapshot of ${m.meta.sizeBytes}`);
    installSnapshot(n, m.meta);
    following.incoming = undefined;
  }
  respond({ nextOffset: incoming.received, done: m.done, reject: false });
}

function hex32(value: number): string {
  return `0x${value.toString(16).padStart(8, "0")}`;
}

function installSnapshot(n: NodeState, meta: SnapshotMeta): void {
  invariant(meta.index > n.log.committed, () =>
    `snapshot: installing index ${meta.index} at or below commit ${n.log.committed} would lose committed entries`);
  n.log.restoreSnapshot(meta);
  withdrawStaleAcks(n);
  n.config = meta.config;
  forgetPendingConfChanges(n);
  n.following.matchedThisTerm = meta.index;
  maybeRestoreVoting(n);
}

/**
 * A node that may have lost acknowledged entries votes again once it holds, as
 * committed, the barrier entry the leader of this term appended after hearing from
 * it. Every entry committed with its lost acknowledgement precedes that barrier (it
 * existed before the node restarted, the barrier was appended after), so the node
 * now holds them all. A stale leader's barrier never commits, so it cannot clear it.
 */
export function maybeRestoreVoting(n: NodeState): void {
  const barrier = n.following.votingBarrier;
  if (!n.nonVoting || barrier === 0 || n.log.committed < barrier) return;
  if (barrier > n.log.snapshotIndex() && n.log.term(barrier) !== n.term) return;
  n.nonVoting = false;
}
