import type { PlannerInput, PlanStep } from "../../src/operator/types.js";
import type { World } from "./world.js";

export type Planner = (input: PlannerInput) => PlanStep;

/** A step in a few words, for readable expected sequences. */
export function describeStep(step: PlanStep): string {
  switch (step.kind) {
    case "AddLearner": case "PromoteLearner": case "RemoveMember": return `${step.kind} ${step.memberId}`;
    case "ScaleStatefulSet": return `${step.kind} ${step.replicas}`;
    case "TransferLeader": return `${step.kind} ${step.from}->${step.to}`;
    case "SetPartition": return `${step.kind} ${step.partition}`;
    case "DeletePod": return `${step.kind} ${step.pod}`;
    default: return step.kind;
  }
}

export interface Run { steps: string[]; violations: string[]; done: boolean }

/**
 * The controller's loop against the model: plan, carry out, let the world settle, again,
 * until Done or the step limit (a planner that never finishes is a failure too).
 */
export function runToDone(world: World, planner: Planner, maxSteps = 80): Run {
  const run: Run = { steps: [], violations: [], done: false };
  for (let i = 0; i < maxSteps; i++) {
    const step = planner(world.input());
    if (step.kind === "Done") {
      run.done = true;
      return run;
    }
    run.steps.push(describeStep(step));
    run.violations.push(...world.apply(step));
    world.settle();
  }
  return run;
}

/** The steps that change something (Waits dropped): the order the issue prescribes. */
export function actions(run: Run): string[] {
  return run.steps.filter((s) => s !== "Wait");
}
