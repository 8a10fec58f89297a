import type { NodeState } from "./node-state.js";
import { refusal, send } from "./node-state.js";
import type { Progress } from "./progress.js";
import { isVoter } from "./quorum.js";
import type { ProposalResult } from "./ready.js";
import { sendAppend } from "./replication.js";
import type { NodeId } from "./types.js";

/**
 * Leadership transfer: the leader brings the target up to date, then tells it to
 * campaign at once (TimeoutNow). Proposals are refused meanwhile; the election tick
 * gives up on a target that does not take over within an election timeout.
 */
export function transferLeadership(n: NodeState, to: NodeId): ProposalResult {
  if (n.role !== "leader") return refusal(n, "not-leader", `node ${n.id} is not the leader`);
  if (to === n.id) return { ok: true, index: n.log.lastIndex(), term: n.term };
  if (!isVoter(n.config, to)) return refusal(n, "invalid", `member ${to} is not a voter`);
  if (n.election.leadTransferee !== to) {
    n.election.leadTransferee = to;
    n.election.transferElapsed = 0;
    const pr = n.leading.progress.get(to) as Progress;
    if (pr.match === n.log.lastIndex()) send(n, { type: "TimeoutNow", to, term: n.term });
    else sendAppend(n, pr, true);
  }
  return { ok: true, index: n.log.lastIndex(), term: n.term };
}
