import { invariant } from "../assert/invariant.js";
import type { SnapshotResponse } from "./messages.js";
import type { NodeState } from "./node-state.js";
import { newSession, send } from "./node-state.js";
import type { Progress } from "./progress.js";
import { noteNonVoting, sendAppend } from "./replication.js";

/** The leader's side of snapshots: sending one in chunks to a follower whose entries were compacted away. */

export function startSnapshot(n: NodeState, pr: Progress): void {
  const meta = n.log.storage.snapshotMeta();
  invariant(meta.index > 0, () => `snapshot: follower ${pr.id} needs entries before ${n.log.firstIndex()} but there is no snapshot`);
  pr.becomeSnapshot(newSession(n), meta.index, meta.term);
  sendSnapshotChunk(n, pr);
}

function sendSnapshotChunk(n: NodeState, pr: Progress): void {
  const transfer = pr.snapshotTransfer;
  invariant(transfer !== undefined, () => `snapshot: follower ${pr.id} in snapshot state has a transfer`);
  const meta = n.log.storage.snapshotMeta();
  const data = meta.index === transfer.index && meta.term === transfer.term
    ? n.log.storage.snapshotChunk(meta, transfer.offset, n.cfg.snapshotChunkBytesMax)
    : undefined;
  if (data === undefined) {
    startSnapshot(n, pr); // A newer snapshot replaced the one being sent: start over.
    return;
  }
  const done = transfer.offset + data.length >= meta.sizeBytes;
  send(n, { type: "Snap", to: pr.id, term: n.term, transferId: transfer.id, meta, offset: transfer.offset, data, done });
  transfer.sent = true;
}

/** A heartbeat answer proves the follower is reachable: resend a chunk that got lost. */
export function resendStalledSnapshot(n: NodeState, pr: Progress): void {
  if (pr.snapshotTransfer !== undefined && !pr.snapshotTransfer.sent) sendSnapshotChunk(n, pr);
}

export function handleSnapshotResponse(n: NodeState, pr: Progress, m: SnapshotResponse): void {
  noteNonVoting(n, pr, m.nonVoting);
  const transfer = pr.snapshotTransfer;
  if (pr.state !== "snapshot" || transfer === undefined || transfer.id !== m.transferId) return;
  if (m.reject) {
    startSnapshot(n, pr);
  } else if (m.done) {
    pr.match = Math.max(pr.match, transfer.index);
    pr.becomeProbe(newSession(n));
    sendAppend(n, pr, true);
  } else {
    transfer.offset = m.nextOffset;
    sendSnapshotChunk(n, pr);
  }
}
