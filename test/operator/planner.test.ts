import { describe, expect, it } from "vitest";
import { planNextStep } from "../../src/operator/planner/index.js";
import { makeCluster } from "./fixtures.js";
import { actions, runToDone } from "./run-world.js";
import { World } from "./world.js";

describe("planner: the steps of each change, in order", () => {
  it("asks to create everything before the StatefulSet exists, and waits while no member answers", () => {
    expect(planNextStep({ cluster: makeCluster(), pods: [] })).toEqual({ kind: "Create" });
    const step = planNextStep({ cluster: makeCluster(), statefulSet: { replicas: 3, readyReplicas: 0 }, pods: [] });
    expect(step.kind).toBe("Wait");
  });

  it("a healthy cluster at its size has nothing to do", () => {
    expect(planNextStep(new World(3).input())).toEqual({ kind: "Done" });
  });

  it("scales out 3 -> 5: learner first, then the pod, catch-up, promotion; one member at a time", () => {
    const world = new World(3);
    world.setTarget(5);
    const run = runToDone(world, planNextStep);
    expect(run.violations).toEqual([]);
    expect(run.done).toBe(true);
    expect(actions(run)).toEqual([
      "AddLearner 4", "ScaleStatefulSet 4", "PromoteLearner 4",
      "AddLearner 5", "ScaleStatefulSet 5", "PromoteLearner 5",
    ]);
    expect(run.steps).toContain("Wait"); // the learner's catch-up
    expect(world.voters()).toEqual([1, 2, 3, 4, 5]);
  });

  it("scales in 5 -> 3 with the leader leaving: leadership moves first, each removal before its shrink", () => {
    const world = new World(5);
    world.leader = 5;
    world.setTarget(3);
    const run = runToDone(world, planNextStep);
    expect(run.violations).toEqual([]);
    expect(actions(run)).toEqual(["TransferLeader 5->1", "RemoveMember 5", "ScaleStatefulSet 4", "RemoveMember 4", "ScaleStatefulSet 3"]);
    expect(world.voters()).toEqual([1, 2, 3]);
    expect(world.stsReplicas).toBe(3);
  });

  it("replaces a member whose volume was lost: removed, re-added as a learner, promoted once caught up", () => {
    const world = new World(3);
    world.wipe(1);
    world.settle(); // its pod is back, empty, waiting non-voting
    const run = runToDone(world, planNextStep);
    expect(run.violations).toEqual([]);
    expect(actions(run)).toEqual(["RemoveMember 2", "AddLearner 2", "PromoteLearner 2"]);
    expect(world.members.get(2)).toMatchObject({ role: "voter", nonVoting: false });
  });

  it("never takes a pod that is being deleted, or restarting, for a scale-in", () => {
    const world = new World(3);
    world.evict(2);
    expect(planNextStep(world.input()).kind).toBe("Wait");
    const restarting = new World(3);
    restarting.crash(2); // member 3 unhealthy, its data kept
    expect(planNextStep(restarting.input())).toEqual({ kind: "Done" });
  });

  it("refuses a scale-in that would lose quorum, and says why", () => {
    const world = new World(5);
    world.crash(1);
    world.crash(2); // members 2 and 3 down: 3 of 5 healthy
    world.setTarget(3);
    world.leader = 1;
    const step = planNextStep(world.input());
    expect(step.kind).toBe("Refuse");
    expect(step.kind === "Refuse" ? step.message : "").toMatch(/quorum/);
  });

  it("rolls a new revision: followers highest ordinal first, the leader last after handing over", () => {
    const world = new World(3);
    world.leader = 1;
    world.newRevision();
    const run = runToDone(world, planNextStep);
    expect(run.violations).toEqual([]);
    expect(actions(run)).toEqual(["DeletePod kv-2", "DeletePod kv-1", "TransferLeader 1->2", "DeletePod kv-0"]);
    expect(world.podViews().map((p) => p.revision)).toEqual(["r2", "r2", "r2"]);
  });

  it("rolls one pod at a time as the Service sees them: a restarted member healthy in Raft waits for its pod's /readyz", () => {
    const world = new World(3);
    world.leader = 1;
    world.newRevision();
    const input = world.input();
    // kv-2 is back on the new revision and its member healthy, but the kubelet has not yet
    // seen /readyz pass: the next restart would leave clients two members short.
    const pods = input.pods.map((pod) => (pod.name === "kv-2" ? { ...pod, ready: false, revision: "r2" } : pod));
    const step = planNextStep({ ...input, pods });
    expect(step.kind).toBe("Wait");
    expect(step.kind === "Wait" ? step.reason : "").toMatch(/kv-2 to be Ready/);
  });

  it("restarts a pod that is down on the old revision first (a bad image being fixed)", () => {
    const world = new World(3);
    world.newRevision();
    world.crash(1);
    expect(planNextStep(world.input())).toMatchObject({ kind: "DeletePod", pod: "kv-1" });
  });

  it("a single-member cluster is updated in place (there is no one to hand over to)", () => {
    const world = new World(1);
    world.newRevision();
    const run = runToDone(world, planNextStep);
    expect(actions(run)).toEqual(["DeletePod kv-0"]);
    expect(run.done).toBe(true);
  });

  it("finishes a learner left over from an interrupted scale-out that is no longer wanted by removing it", () => {
    const world = new World(3);
    world.members.set(4, { role: "learner", lag: 5000, nonVoting: false });
    const run = runToDone(world, planNextStep);
    expect(run.violations).toEqual([]);
    expect(actions(run)).toEqual(["RemoveMember 4"]);
  });
});

describe("planner: promotion by the shared rule (src/raft/membership-rules.ts)", () => {
  const withLearner = (learner: Record<string, unknown>): ReturnType<World["input"]> => {
    const input = new World(3).input();
    const membership = input.membership as NonNullable<typeof input.membership>;
    return { ...input, cluster: makeCluster({ replicas: 4 }), statefulSet: { replicas: 4, readyReplicas: 4 },
      membership: { ...membership, commitIndex: 500, members: [...membership.members, { id: 4, role: "learner", healthy: true, ...learner }] } };
  };

  it("a learner whose match is below the leader's commit index is not promoted, even 1 entry behind (the old 100-entry allowance is gone)", () => {
    const step = planNextStep(withLearner({ matchIndex: 499, acknowledged: true, lag: 1 }));
    expect(step.kind).toBe("Wait");
    expect(step.kind === "Wait" ? step.reason : "").toMatch(/learner 4 has not caught up: it holds up to index 499, the leader's commit index is 500/);
  });

  it("a learner that never acknowledged the leader is not promoted", () => {
    const step = planNextStep(withLearner({ matchIndex: 0, acknowledged: false }));
    expect(step.kind === "Wait" ? step.reason : step.kind).toMatch(/learner 4 has never acknowledged the leader/);
  });

  it("a learner that has reached the leader's commit index is promoted", () => {
    expect(planNextStep(withLearner({ matchIndex: 500, acknowledged: true, lag: 0 }))).toMatchObject({ kind: "PromoteLearner", memberId: 4 });
  });
});
