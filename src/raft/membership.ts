import { maybeCommit } from "./commit.js";
import { applyConfChange, confChangeProblem, decodeConfChange, encodeConfChange } from "./conf-change.js";
import { becomeFollower } from "./elections.js";
import { invariant } from "../assert/invariant.js";
import type { LogStorage } from "./log-storage.js";
import type { NodeState, PendingConfChange } from "./node-state.js";
import { committedInCurrentTerm, refusal } from "./node-state.js";
import { refuseProposal } from "./proposals.js";
import type { Progress } from "./progress.js";
import type { FollowerView, PromotionVerdict } from "./membership-rules.js";
import { bestSuccessor, heardWithinElectionTimeout, promotionVerdict } from "./membership-rules.js";
import { isMember, isVoter, members } from "./quorum.js";
import type { ProposalResult } from "./ready.js";
import { addProgress, appendEntries } from "./replication.js";
import { transferLeadership } from "./transfer.js";
import type { ConfChange, Entry, NodeId } from "./types.js";
import { EntryType, NONE } from "./types.js";

/**
 * Membership: configuration changes (voters, learners), which take effect on commit,
 * at most one uncommitted at a time, and what a leader does when they take effect.
 */

/**
 * The shared promotion rule, fed with this leader's progress: a learner with no progress
 * (not yet known to this leader) is one that has never acknowledged it.
 */
export function learnerPromotionVerdict(n: NodeState, id: NodeId): PromotionVerdict {
  const pr = n.leading.progress.get(id);
  const view: FollowerView = pr === undefined
    ? { id, match: 0, acknowledged: false, heardRecently: false, nonVoting: false }
    : { id, match: pr.match, acknowledged: pr.acknowledged, heardRecently: heardWithinElectionTimeout(pr.ticksSinceHeard, n.cfg.electionTicks), nonVoting: pr.nonVoting };
  return promotionVerdict(view, n.log.committed);
}

/** Rebuilds the configuration from the snapshot plus committed change entries. */
export function recoverConfiguration(n: NodeState, storage: LogStorage): void {
  const last = storage.lastIndex();
  for (let lo = storage.firstIndex(); lo <= last;) {
    const batch = storage.entries(lo, last + 1, 4 * 1024 * 1024);
    invariant(batch.length > 0, () => `storage: entries(${lo}, ${last + 1}) returned at least one entry`);
    trackConfChanges(n, batch, true);
    lo = (batch[batch.length - 1] as Entry).index + 1;
  }
  applyCommittedConfChanges(n);
}

export function proposeConfChange(n: NodeState, change: ConfChange): ProposalResult {
  const refused = refuseProposal(n, 5);
  if (refused !== undefined) return refused;
  const pending = n.membership.pendingConfChanges;
  const planted = n.cfg.testOnlyPlant === "concurrent-conf-changes";
  if (!planted && pending.length > 0) {
    return refusal(n, "conf-change-pending", `configuration change at index ${(pending[0] as PendingConfChange).index} is not yet committed: retry when it is`);
  }
  if (!planted && !committedInCurrentTerm(n)) {
    return refusal(n, "not-ready", "the leader has not yet committed an entry of its term: retry shortly");
  }
  const base = pending.reduce((config, p) => applyConfChange(config, p.change), n.config);
  const problem = confChangeProblem(base, change);
  if (problem !== undefined) return refusal(n, "invalid", problem);
  if (change.type === "promote" && n.cfg.testOnlyPlant !== "promote-unready-learner") {
    const verdict = learnerPromotionVerdict(n, change.nodeId);
    if (!verdict.ready) return refusal(n, "learner-behind", verdict.message);
  }
  const index = appendEntries(n, [{ type: EntryType.ConfChange, data: encodeConfChange(change) }]);
  n.leading.broadcastPending = true;
  return { ok: true, index, term: n.term };
}

/**
 * Records the change entries among newly appended ones. A pending change is kept
 * only while the log still holds it (same index and term): an append that truncated
 * a suffix took the changes in it away. Recovery passes every entry after the
 * snapshot, committed ones included, so that they are applied to its configuration.
 */
export function trackConfChanges(n: NodeState, entries: readonly Entry[], recovering = false): void {
  const membership = n.membership;
  membership.pendingConfChanges = membership.pendingConfChanges.filter((p) => n.log.term(p.index) === p.term);
  const last = membership.pendingConfChanges[membership.pendingConfChanges.length - 1]?.index ?? 0;
  for (const entry of entries) {
    if (entry.type === EntryType.ConfChange && entry.index > last && (recovering || entry.index > n.log.committed)) {
      membership.pendingConfChanges.push({ index: entry.index, term: entry.term, change: decodeConfChange(entry.data) });
    }
  }
}

/** A snapshot was installed: its configuration replaces every change the log held. */
export function forgetPendingConfChanges(n: NodeState): void {
  n.membership.pendingConfChanges = [];
}

export function applyCommittedConfChanges(n: NodeState): void {
  const membership = n.membership;
  while (membership.pendingConfChanges.length > 0 && (membership.pendingConfChanges[0] as PendingConfChange).index <= n.log.committed) {
    const { change } = membership.pendingConfChanges.shift() as PendingConfChange;
    n.config = applyConfChange(n.config, change);
    onConfigurationChanged(n);
  }
}

function onConfigurationChanged(n: NodeState): void {
  if (n.role !== "leader") return;
  const progress = n.leading.progress;
  for (const id of members(n.config)) if (!progress.has(id)) addProgress(n, id);
  for (const id of [...progress.keys()]) if (!isMember(n.config, id)) progress.delete(id);
  if (n.election.leadTransferee !== NONE && !isVoter(n.config, n.election.leadTransferee)) n.election.leadTransferee = NONE;
  if (!isVoter(n.config, n.id) && n.cfg.stepDownOnRemoval) {
    handOverAfterRemoval(n);
    return;
  }
  maybeCommit(n); // A smaller quorum may commit more.
  n.leading.broadcastPending = true;
}

/**
 * This leader's own removal has committed. Its followers may not know yet (they
 * learn the commit index from it), and until they do they count votes under the old
 * configuration, which includes this node, whose log may be longer than theirs: it
 * would reject every candidate and the cluster could stall. So it hands leadership
 * to the most up-to-date voter of the new configuration (which, once elected,
 * commits an entry of its term and so the removal everywhere), and steps down when
 * that target takes over or the transfer times out.
 */
function handOverAfterRemoval(n: NodeState): void {
  const candidates: Progress[] = [];
  for (const id of n.config.voters) {
    const pr = n.leading.progress.get(id);
    if (pr !== undefined && !pr.nonVoting) candidates.push(pr);
  }
  const target = bestSuccessor(candidates);
  if (target === undefined) {
    becomeFollower(n, n.term, NONE);
    return;
  }
  n.election.leadTransferee = NONE;
  transferLeadership(n, target.id);
  n.leading.broadcastPending = true;
}
