import { maybeRestoreVoting } from "./follower.js";
import { applyCommittedConfChanges } from "./membership.js";
import type { NodeState } from "./node-state.js";
import { quorumMatchIndex } from "./quorum.js";
import { releaseReadsAfterTermCommit } from "./reads.js";

/** The commit index: counted by the leader, learned by everyone else, and what follows a commit. */

/** Commits the highest index a quorum has durably matched, if it is of this term. */
export function maybeCommit(n: NodeState): boolean {
  const index = quorumMatchIndex(n.config.voters, (id) => {
    const pr = n.leading.progress.get(id);
    if (pr === undefined || (pr.nonVoting && id !== n.id)) return 0;
    return pr.match;
  });
  if (index <= n.log.committed) return false;
  // Raft §5.4.2 (figure 8): an entry of an earlier term is never committed by counting
  // its replicas; it commits only under an entry of the leader's own term.
  if (n.log.term(index) !== n.term && n.cfg.testOnlyPlant !== "commit-previous-term") return false;
  commitTo(n, index);
  return true;
}

export function commitTo(n: NodeState, index: number): void {
  if (!n.log.commitTo(index)) return;
  const leading = n.leading;
  while (leading.uncommitted.length > 0 && (leading.uncommitted[0] as { index: number }).index <= index) {
    leading.uncommittedBytes -= (leading.uncommitted.shift() as { bytes: number }).bytes;
  }
  applyCommittedConfChanges(n);
  releaseReadsAfterTermCommit(n);
  maybeRestoreVoting(n);
}
