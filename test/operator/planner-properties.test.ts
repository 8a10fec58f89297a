/**
 * Property tests of the planner against the world model (world.ts): random observed
 * states for single steps, and random histories (planner steps interleaved with crashes,
 * lost volumes, evictions, new sizes and new revisions) for whole runs. Seeded: set
 * PLANNER_SEED to replay a failure (the seed is printed with it).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { majority, planNextStep } from "../../src/operator/planner/index.js";
import type { PlannerInput, PlanStep } from "../../src/operator/types.js";
import { memberIdOfOrdinal, ordinalOfMember } from "../../src/operator/types.js";
import type { Planner } from "./run-world.js";
import { runToDone } from "./run-world.js";
import { World } from "./world.js";

const SEED = Number(process.env["PLANNER_SEED"] ?? Date.now() % 2 ** 31);
const SIZES = [1, 3, 5, 7] as const;
const MAX_ID = 8;

function checkWithSeed(property: fc.IRawProperty<[unknown]>, numRuns: number): void {
  try {
    fc.assert(property, { seed: SEED, numRuns, includeErrorInReport: true });
  } catch (error) {
    throw new Error(`planner property failed with PLANNER_SEED=${SEED} (replay: PLANNER_SEED=${SEED} npx vitest run test/operator/planner-properties.test.ts)\n${(error as Error).message}`);
  }
}

/** A random but consistent world: members, pods, leader, wishes. */
const worldArbitrary = fc.record({
  size: fc.constantFrom(...SIZES),
  target: fc.constantFrom(...SIZES),
  extra: fc.array(fc.record({ id: fc.integer({ min: 1, max: MAX_ID }), role: fc.constantFrom("voter" as const, "learner" as const), lag: fc.integer({ min: 0, max: 400 }) }), { maxLength: 2 }),
  removed: fc.array(fc.integer({ min: 1, max: MAX_ID }), { maxLength: 2 }),
  crashed: fc.array(fc.integer({ min: 0, max: MAX_ID - 1 }), { maxLength: 3 }),
  wiped: fc.array(fc.integer({ min: 0, max: MAX_ID - 1 }), { maxLength: 2 }),
  evicted: fc.option(fc.integer({ min: 0, max: MAX_ID - 1 }), { nil: undefined }),
  stsDelta: fc.integer({ min: -2, max: 2 }),
  newRevision: fc.boolean(),
  stalePods: fc.array(fc.integer({ min: 0, max: MAX_ID - 1 }), { maxLength: 3 }),
  leader: fc.integer({ min: 1, max: MAX_ID }),
}).map((r) => () => {
  const world = new World(r.size);
  for (const m of r.extra) world.members.set(m.id, { role: m.role, lag: m.lag, nonVoting: false });
  for (const id of r.removed) if (world.members.size > 1) world.members.delete(id);
  const highest = Math.max(...[...world.members.keys()].map((id) => ordinalOfMember(id) + 1));
  world.stsReplicas = Math.max(0, highest + r.stsDelta);
  world.pods.clear();
  for (let ordinal = 0; ordinal < world.stsReplicas; ordinal++) world.pods.set(ordinal, { revision: "r1", up: true, terminating: false, restartCount: 0 });
  if (r.newRevision) world.newRevision();
  for (const ordinal of r.stalePods) { const pod = world.pods.get(ordinal); if (pod !== undefined) pod.revision = world.updateRevision; }
  for (const ordinal of r.crashed) world.crash(ordinal);
  for (const ordinal of r.wiped) { const m = world.members.get(memberIdOfOrdinal(ordinal)); if (m !== undefined) m.nonVoting = true; }
  if (r.evicted !== undefined) world.evict(r.evicted);
  world.leader = world.members.get(r.leader)?.role === "voter" && world.healthy(r.leader) ? r.leader : 0;
  world.elect();
  world.setTarget(r.target);
  return world;
});

/** Safety of one step from any observed state. */
function singleStepViolations(planner: Planner, world: World): string[] {
  const input = world.input();
  const step = planner(input);
  const violations = oneStepRules(input, step);
  if (planner(input).kind !== step.kind) violations.push("not a function of its input: two calls gave different steps");
  return [...violations, ...world.apply(step)];
}

function oneStepRules(input: PlannerInput, step: PlanStep): string[] {
  const violations: string[] = [];
  const membership = input.membership;
  const changesMembership = ["AddLearner", "PromoteLearner", "RemoveMember", "TransferLeader", "DeletePod", "ScaleStatefulSet"].includes(step.kind);
  if (membership === undefined && changesMembership) violations.push(`${step.kind} without knowing the membership`);
  if (input.pods.some((p) => p.terminating) && changesMembership) violations.push(`${step.kind} while a pod is shutting down`);
  if (membership !== undefined && (step.kind === "RemoveMember" || step.kind === "PromoteLearner")) {
    const voters = membership.members.filter((m) => m.role === "voter");
    if (voters.filter((m) => m.healthy).length < majority(voters.length)) violations.push(`${step.kind} without a quorum`);
  }
  return violations;
}

type Event =
  | { kind: "plan" } | { kind: "settle" } | { kind: "crash"; ordinal: number } | { kind: "wipe"; ordinal: number }
  | { kind: "evict"; ordinal: number } | { kind: "target"; replicas: number } | { kind: "revision" };

const eventArbitrary: fc.Arbitrary<Event> = fc.oneof(
  { weight: 8, arbitrary: fc.constant<Event>({ kind: "plan" }) },
  { weight: 4, arbitrary: fc.constant<Event>({ kind: "settle" }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 6 }).map<Event>((ordinal) => ({ kind: "crash", ordinal })) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 6 }).map<Event>((ordinal) => ({ kind: "wipe", ordinal })) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 6 }).map<Event>((ordinal) => ({ kind: "evict", ordinal })) },
  { weight: 1, arbitrary: fc.constantFrom(...SIZES).map<Event>((replicas) => ({ kind: "target", replicas })) },
  { weight: 1, arbitrary: fc.constant<Event>({ kind: "revision" }) },
);

/** A volume is lost only while the others still make a quorum (else no operator could recover it). */
function wipeKeepsRecoverable(world: World, ordinal: number): boolean {
  const voters = world.voters();
  const intact = voters.filter((id) => id !== memberIdOfOrdinal(ordinal) && world.members.get(id)?.nonVoting !== true);
  return intact.length >= majority(voters.length);
}

/** Runs a random history, then lets the world settle and the planner finish: violations and whether it reached Done. */
function historyViolations(planner: Planner, size: number, events: readonly Event[]): string[] {
  const world = new World(size);
  const violations: string[] = [];
  for (const event of events) {
    switch (event.kind) {
      case "plan": violations.push(...world.apply(planner(world.input()))); break;
      case "settle": world.settle(); break;
      case "crash": world.crash(event.ordinal); break;
      case "wipe": if (wipeKeepsRecoverable(world, event.ordinal)) world.wipe(event.ordinal); break;
      case "evict": world.evict(event.ordinal); break;
      case "target": world.setTarget(event.replicas); break;
      case "revision": world.newRevision(); break;
    }
  }
  world.settle();
  const finish = runToDone(world, planner, 200);
  violations.push(...finish.violations);
  if (!finish.done) violations.push(`never reached Done for target ${world.target}; last steps: ${finish.steps.slice(-6).join(", ")}`);
  else {
    if (world.voters().length !== world.target || world.learners().length > 0) violations.push(`Done with voters ${world.voters().join(",")} for target ${world.target}`);
    if (world.stsReplicas !== world.target) violations.push(`Done with the StatefulSet at ${world.stsReplicas} for target ${world.target}`);
    if (world.podViews().some((p) => p.revision !== world.updateRevision)) violations.push("Done with pods on an old revision");
  }
  return violations;
}

const singleStepProperty = (planner: Planner) => fc.property(worldArbitrary, (makeWorld) => {
  const world = makeWorld();
  const before = JSON.stringify({ input: world.input() });
  const violations = singleStepViolations(planner, world).map((v) => `${v}\n  from ${before}`);
  if (violations.length > 0) throw new Error(violations.join("; "));
});

const historyProperty = (planner: Planner) => fc.property(
  fc.tuple(fc.constantFrom(...SIZES), fc.array(eventArbitrary, { minLength: 1, maxLength: 60 })),
  ([size, events]) => {
    const violations = historyViolations(planner, size, events);
    if (violations.length > 0) throw new Error(violations.join("; "));
  },
);

/** Planted bugs: each must be caught, or the properties prove nothing. */
const shrinksBeforeRemoving: Planner = (input) => {
  const step = planNextStep(input);
  if (step.kind === "RemoveMember" && ordinalOfMember(step.memberId) >= input.cluster.spec.replicas) {
    return { kind: "ScaleStatefulSet", replicas: input.cluster.spec.replicas, reason: "planted bug" };
  }
  return step;
};

const promotesAtOnce: Planner = (input) => {
  const step = planNextStep(input);
  if (step.kind === "Wait" && step.reason.startsWith("LearnerCatchingUp")) {
    const learner = input.membership?.members.find((m) => m.role === "learner");
    if (learner !== undefined) return { kind: "PromoteLearner", memberId: learner.id, reason: "planted bug" };
  }
  return step;
};

const removesUnhealthy: Planner = (input) => {
  const step = planNextStep(input);
  const sick = input.membership?.members.find((m) => m.role === "voter" && !m.healthy && m.id !== input.membership?.leaderId);
  if ((step.kind === "Done" || step.kind === "Wait") && sick !== undefined) return { kind: "RemoveMember", memberId: sick.id, reason: "planted bug" };
  return step;
};

describe(`planner properties (PLANNER_SEED=${SEED})`, () => {
  it("from any observed state, one step keeps every safety rule", () => {
    checkWithSeed(singleStepProperty(planNextStep), 3000);
  });

  it("over random histories: one change in flight, learner before voter, remove before shrink, never below quorum, and always Done", () => {
    checkWithSeed(historyProperty(planNextStep), 600);
  });

  it.each([
    ["shrinks the StatefulSet before removing the member", shrinksBeforeRemoving, /remove before shrink/],
    ["promotes a learner before it caught up", promotesAtOnce, /learner before voter/],
    ["takes a restarting member for a scale-in", removesUnhealthy, /a restart is not a scale-in/],
  ] as const)("catches a planted bug: a planner that %s", (_name, planner, message) => {
    const failure = (property: fc.IRawProperty<[unknown]>, numRuns: number): string => {
      try {
        fc.assert(property, { seed: SEED, numRuns, includeErrorInReport: true });
        return "";
      } catch (error) {
        return (error as Error).message;
      }
    };
    const fromHistories = failure(historyProperty(planner), 600);
    const fromStates = failure(singleStepProperty(planner), 3000);
    expect(fromHistories, "the history property missed it").not.toBe("");
    expect(fromStates, "the single-step property missed it").not.toBe("");
    expect(`${fromHistories}\n${fromStates}`).toMatch(message);
  });
});
