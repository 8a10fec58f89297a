import type { NodeId } from "../../raft/types.js";
import type { KVRaftCluster, PodView, StatefulSetView } from "../types.js";
import { memberIdOfOrdinal, ordinalOfMember } from "../types.js";
import type { Membership } from "./quorum.js";

/** What every rule looks at, once the planner knows the StatefulSet exists and a leader answered. */
export interface PlanContext {
  readonly cluster: KVRaftCluster;
  readonly target: number;
  readonly statefulSet: StatefulSetView;
  readonly pods: readonly PodView[];
  readonly membership: Membership;
}

/** Members 1..replicas are wanted (pod NAME-i is member i+1). */
export function wanted(context: PlanContext, id: NodeId): boolean {
  return ordinalOfMember(id) < context.target;
}

export function wantedIds(context: PlanContext): NodeId[] {
  return Array.from({ length: context.target }, (_, ordinal) => memberIdOfOrdinal(ordinal));
}

export function podOf(context: PlanContext, id: NodeId): PodView | undefined {
  return context.pods.find((p) => p.ordinal === ordinalOfMember(id));
}

/** A pod runs an older revision than the StatefulSet's template (unknown revisions are not counted). */
export function outdated(context: PlanContext, pod: PodView): boolean {
  const update = context.statefulSet.updateRevision;
  return update !== undefined && pod.revision !== undefined && pod.revision !== update;
}
