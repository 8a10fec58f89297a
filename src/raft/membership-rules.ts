import { majority } from "./quorum.js";
import type { NodeId } from "./types.js";

/**
 * The membership rules, in one place, for the three places that decide membership: the
 * core (which refuses an unsafe promotion), the admin API (which refuses it first, with
 * an error a person can act on) and the operator's planner (which waits for it). Each
 * feeds them what it knows of the members; the rules themselves are plain arithmetic.
 */

/** What the leader knows of one follower, as the rules need it. */
export interface FollowerView {
  readonly id: NodeId;
  /** The highest index the follower acknowledged as durable. */
  readonly match: number;
  /** The follower answered this leader at least once (a member that never ran has not). */
  readonly acknowledged: boolean;
  /** The leader heard from it within the last election timeout. */
  readonly heardRecently: boolean;
  /** It may have lost acknowledged entries and waits to catch up: it does not count. */
  readonly nonVoting: boolean;
}

/**
 * How far behind the leader's commit index a learner may be and still be promoted: none.
 * A learner is ready once it holds everything committed when the promotion is asked for
 * (etcd's `member promote` likewise refuses a learner not yet in sync), so the new voter
 * can take part in the next quorum at once instead of making it wait for its catch-up.
 */
export const PROMOTION_COMMIT_LAG_ENTRIES_MAX = 0;

export type PromotionRefusal = "never-acknowledged" | "not-heard-recently" | "non-voting" | "behind";

export type PromotionVerdict =
  | { readonly ready: true }
  | { readonly ready: false; readonly reason: PromotionRefusal; readonly message: string };

/** Whether a learner may become a voter now, judged against the leader's commit index. */
export function promotionVerdict(learner: FollowerView, commitIndex: number): PromotionVerdict {
  const id = learner.id;
  if (!learner.acknowledged) {
    return { ready: false, reason: "never-acknowledged", message: `learner ${id} has never acknowledged the leader: it is not running or cannot be reached; start it, then promote` };
  }
  if (!learner.heardRecently) {
    return { ready: false, reason: "not-heard-recently", message: `learner ${id} has not answered the leader within an election timeout: check that it runs and is reachable, then promote` };
  }
  if (learner.nonVoting) {
    return { ready: false, reason: "non-voting", message: `learner ${id} may have lost acknowledged entries and is still catching up: retry when it has` };
  }
  const behind = commitIndex - learner.match;
  if (behind > PROMOTION_COMMIT_LAG_ENTRIES_MAX) {
    return { ready: false, reason: "behind", message: `learner ${id} has not caught up: it holds up to index ${learner.match}, the leader's commit index is ${commitIndex}; retry when it has caught up` };
  }
  return { ready: true };
}

/** Heard within the last election timeout: the window "recently" means everywhere. */
export function heardWithinElectionTimeout(ticksSinceHeard: number, electionTicks: number): boolean {
  return ticksSinceHeard < electionTicks;
}

/**
 * Whether removing `removed` leaves a quorum of the smaller configuration among the
 * voters that count now (`counts`: heard lately and not non-voting). Removing a learner
 * never changes a quorum. Returns a message saying why not, or undefined.
 */
export function quorumAfterRemovalProblem(voters: readonly NodeId[], removed: NodeId, counts: (id: NodeId) => boolean): string | undefined {
  if (!voters.includes(removed)) return undefined;
  const remaining = voters.filter((id) => id !== removed);
  const counting = remaining.filter(counts).length;
  if (counting >= majority(remaining.length)) return undefined;
  return `removing member ${removed} would leave ${counting} healthy voters of ${remaining.length}, fewer than a majority (${majority(remaining.length)}): bring members back first`;
}

/**
 * The voter best placed to take over leadership: among `candidates` (the caller's
 * filter: healthy, staying), the one with the highest match, so the transfer needs the
 * fewest entries sent first; the lowest id on a tie, so every caller picks the same one.
 */
export function bestSuccessor<T extends { readonly id: NodeId; readonly match: number }>(candidates: readonly T[]): T | undefined {
  let best: T | undefined;
  for (const c of candidates) {
    if (best === undefined || c.match > best.match || (c.match === best.match && c.id < best.id)) best = c;
  }
  return best;
}
