import type { PlanStep } from "../types.js";
import { ordinalOfMember } from "../types.js";
import type { RecordedEvent } from "./events.js";

/**
 * The Event a person wants to see for a step the operator carried out (undefined: a step
 * too routine to report, like waiting). Reasons are short CamelCase words, as
 * Kubernetes' own; messages say what happened and why.
 */
export function eventForStep(step: PlanStep, clusterName: string, fromReplicas?: number): RecordedEvent | undefined {
  const pod = (id: number): string => `${clusterName}-${ordinalOfMember(id)}`;
  switch (step.kind) {
    case "Create":
      return { type: "Normal", reason: "Creating", message: `created the cluster's objects (StatefulSet, Services, ConfigMap, Secret, policies)` };
    case "AddLearner":
      return { type: "Normal", reason: "MemberAdded", message: `added member ${step.memberId} (pod ${pod(step.memberId)}) as a learner: ${step.reason}` };
    case "ScaleStatefulSet":
      return { type: "Normal", reason: "ScalingStatefulSet", message: `StatefulSet replicas ${fromReplicas ?? "?"} -> ${step.replicas}: ${step.reason}` };
    case "PromoteLearner":
      return { type: "Normal", reason: "LearnerPromoted", message: `promoted member ${step.memberId} (pod ${pod(step.memberId)}) to voter: ${step.reason}` };
    case "TransferLeader":
      return { type: "Normal", reason: "LeaderTransferred", message: `asked leader ${step.from} to hand leadership to member ${step.to}: ${step.reason}` };
    case "RemoveMember":
      return { type: "Normal", reason: "MemberRemoved", message: `removed member ${step.memberId} (pod ${pod(step.memberId)}) from the membership: ${step.reason}` };
    case "SetPartition":
      return { type: "Normal", reason: "RollingUpdate", message: `StatefulSet partition set to ${step.partition}: ${step.reason}` };
    case "DeletePod":
      return { type: "Normal", reason: "RollingUpdate", message: `deleted pod ${step.pod} so it restarts on the new revision: ${step.reason}` };
    case "Refuse":
      return { type: "Warning", reason: step.reason, message: step.message };
    case "Wait":
    case "Done":
      return undefined;
  }
}

/** Steps that change something: after one, the cluster is observed again at once. */
export function changesSomething(step: PlanStep): boolean {
  return step.kind !== "Wait" && step.kind !== "Done" && step.kind !== "Refuse";
}
