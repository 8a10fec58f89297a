import { ENTRY_OVERHEAD_BYTES } from "./messages.js";
import type { NodeState } from "./node-state.js";
import { refusal } from "./node-state.js";
import type { ProposalResult } from "./ready.js";
import { appendEntries } from "./replication.js";
import { EntryType, NONE } from "./types.js";

/** Proposals: a leader appends what it is asked to, within uncommittedBytesMax. */

export function propose(n: NodeState, data: Uint8Array): ProposalResult {
  const refused = refuseProposal(n, data.length);
  if (refused !== undefined) return refused;
  const index = appendEntries(n, [{ type: EntryType.Normal, data }]);
  n.leading.broadcastPending = true;
  return { ok: true, index, term: n.term };
}

/** Why this node cannot take a proposal of `bytes` now, if it cannot. */
export function refuseProposal(n: NodeState, bytes: number): ProposalResult | undefined {
  if (n.role !== "leader") return refusal(n, "not-leader", `node ${n.id} is not the leader`);
  const transferee = n.election.leadTransferee;
  if (transferee !== NONE) return refusal(n, "transferring", `leadership is moving to ${transferee}: retry on the new leader`);
  const { uncommittedBytes } = n.leading;
  if (uncommittedBytes > 0 && uncommittedBytes + bytes + ENTRY_OVERHEAD_BYTES > n.cfg.uncommittedBytesMax) {
    return refusal(n, "busy", `${uncommittedBytes} uncommitted bytes reach uncommittedBytesMax ${n.cfg.uncommittedBytesMax}: retry later`);
  }
  return undefined;
}
