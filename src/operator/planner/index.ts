import type { PlannerInput, PlanStep } from "../types.js";
import type { PlanContext } from "./context.js";
import { finishLearner, fitStatefulSet, replaceLostMember, scaleIn, scaleOut } from "./membership-rules.js";
import { Membership } from "./quorum.js";
import { rollingUpdate } from "./rolling-update.js";

export { majority, Membership, PROMOTION_COMMIT_LAG_ENTRIES_MAX } from "./quorum.js";

/** The rules in the order they are tried: the first with something to do gives the step. */
const RULES: readonly ((context: PlanContext) => PlanStep | undefined)[] = [
  fitStatefulSet, // a pod for every member; shrink only past the last member
  finishLearner, // one membership change in flight: finish it before the next
  replaceLostMember,
  // Add a wanted member before removing unwanted ones: redundancy never drops first, and
  // a leader that is leaving always has a wanted member to hand over to.
  scaleOut,
  scaleIn,
  rollingUpdate,
];

/**
 * The single next step toward the CR's wish, from what was observed: a pure function.
 * Membership (the servers' admin API) is the truth; pods only tell where members run.
 * A pod that is deleted or restarting is never a reason to change membership: scaling
 * in follows spec.replicas, and a member is replaced only when it says its data is gone.
 */
export function planNextStep(input: PlannerInput): PlanStep {
  const { cluster, statefulSet, pods, membership } = input;
  if (statefulSet === undefined) return { kind: "Create" };
  if (membership === undefined) return { kind: "Wait", reason: "no member answered the admin API yet" };
  const view = new Membership(membership);
  if (!view.voters.some((m) => m.id === membership.leaderId)) return { kind: "Wait", reason: "no leader: waiting for an election" };
  if (!view.hasQuorum()) return { kind: "Wait", reason: `QuorumLost: ${view.healthyVoters()} of ${view.voters.length} voters healthy` };
  const terminating = pods.find((p) => p.terminating);
  if (terminating !== undefined) return { kind: "Wait", reason: `pod ${terminating.name} is shutting down` };
  const context: PlanContext = { cluster, target: cluster.spec.replicas, statefulSet, pods, membership: view };
  for (const rule of RULES) {
    const step = rule(context);
    if (step !== undefined) return step;
  }
  return { kind: "Done" };
}
