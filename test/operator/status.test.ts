import { describe, expect, it } from "vitest";
import { planNextStep } from "../../src/operator/planner/index.js";
import { computeStatus } from "../../src/operator/status.js";
import type { ClusterStatus, Condition, PlannerInput } from "../../src/operator/types.js";
import { makeCluster } from "./fixtures.js";
import { World } from "./world.js";

const T0 = "2026-01-01T00:00:00Z";
const T1 = "2026-01-01T00:05:00Z";

function statusOf(input: PlannerInput, previous?: ClusterStatus, now = T0): ClusterStatus {
  return computeStatus({ ...input, step: planNextStep(input), now }, previous);
}
const condition = (status: ClusterStatus, type: Condition["type"]): Condition | undefined => status.conditions?.find((c) => c.type === type);

describe("status", () => {
  it("a healthy cluster: Running, Available, not Progressing, not Degraded, with leader, term and members", () => {
    const world = new World(3);
    world.leader = 2;
    const status = statusOf(world.input());
    expect(status).toMatchObject({
      observedGeneration: 1, phase: "Running", replicas: 3, readyReplicas: 3, formed: true,
      selector: "app.kubernetes.io/name=kvraft,app.kubernetes.io/instance=kv,app.kubernetes.io/component=server",
      leader: { id: 2, pod: "kv-1" }, term: 1, commitIndex: 100,
    });
    expect(status.members).toEqual([
      { id: 1, pod: "kv-0", role: "voter", healthy: true, lag: 0 },
      { id: 2, pod: "kv-1", role: "voter", healthy: true, lag: 0 },
      { id: 3, pod: "kv-2", role: "voter", healthy: true, lag: 0 },
    ]);
    expect(status.conditions?.map((c) => [c.type, c.status, c.reason])).toEqual([
      ["Available", "True", "QuorumHealthy"], ["Progressing", "False", "Stable"], ["Degraded", "False", "AllMembersHealthy"],
    ]);
  });

  it("members still starting on a new cluster are Creating, not Degraded; the same after Running is Degraded", () => {
    const world = new World(3);
    world.crash(2);
    const starting = statusOf(world.input(), { phase: "Creating" });
    expect(starting).toMatchObject({ phase: "Creating", reason: expect.stringContaining("members still starting") });
    expect(condition(starting, "Degraded")?.status).not.toBe("True");
    const world2 = new World(3);
    const running = statusOf(world2.input());
    world2.crash(2);
    expect(statusOf(world2.input(), running, T1).phase).toBe("Degraded");
  });

  it("a second computation with nothing changed gives the same status, times included (so nothing is written)", () => {
    const world = new World(3);
    const first = statusOf(world.input(), undefined, T0);
    expect(statusOf(world.input(), first, T1)).toEqual(first);
  });

  it("stamps a condition's lastTransitionTime only when its status changes", () => {
    const world = new World(3);
    const before = statusOf(world.input(), undefined, T0);
    world.crash(2);
    const after = statusOf(world.input(), before, T1);
    expect(condition(after, "Degraded")).toMatchObject({ status: "True", reason: "MemberUnhealthy", lastTransitionTime: T1 });
    expect(condition(after, "Available")).toMatchObject({ status: "True", lastTransitionTime: T0 });
    expect(after.phase).toBe("Degraded");
    expect(after.members?.find((m) => m.id === 3)?.healthy).toBe(false);
  });

  it("says why while scaling out: ScalingOut, then LearnerCatchingUp", () => {
    const world = new World(3);
    world.setTarget(5);
    const scaling = statusOf(world.input());
    expect(scaling).toMatchObject({ phase: "Scaling" });
    expect(condition(scaling, "Progressing")).toMatchObject({ status: "True", reason: "ScalingOut" });
    world.apply(planNextStep(world.input())); // AddLearner 4
    world.apply(planNextStep(world.input())); // ScaleStatefulSet 4
    const catchingUp = statusOf(world.input());
    expect(condition(catchingUp, "Progressing")).toMatchObject({ status: "True", reason: "LearnerCatchingUp" });
    expect(catchingUp.members?.find((m) => m.id === 4)).toMatchObject({ role: "learner", pod: "kv-3" });
  });

  it("RollingUpdate while pods run an old revision", () => {
    const world = new World(3);
    world.newRevision();
    const status = statusOf(world.input());
    expect(status.phase).toBe("Updating");
    expect(condition(status, "Progressing")).toMatchObject({ status: "True", reason: "RollingUpdate" });
  });

  it("QuorumLost when too few voters are healthy: not Available, Degraded", () => {
    const world = new World(3);
    world.crash(1);
    world.crash(2);
    const status = statusOf(world.input(), { formed: true });
    expect(condition(status, "Available")).toMatchObject({ status: "False", reason: "QuorumLost" });
    expect(condition(status, "Degraded")).toMatchObject({ status: "True", reason: "QuorumLost" });
    expect(status.phase).toBe("Degraded");
  });

  it("shows a refused change as Degraded with the planner's message", () => {
    const world = new World(5);
    world.crash(1);
    world.crash(2);
    world.setTarget(3);
    const status = statusOf(world.input());
    expect(condition(status, "Degraded")).toMatchObject({ status: "True", reason: "QuorumAtRisk" });
    expect(status.reason).toMatch(/refused/);
  });

  it("a new cluster: Pending before its StatefulSet, Creating until a leader is elected, then formed for good", () => {
    const cluster = makeCluster();
    expect(statusOf({ cluster, pods: [] }).phase).toBe("Pending");
    const creating = statusOf({ cluster, statefulSet: { replicas: 3, readyReplicas: 0 }, pods: [] });
    expect(creating).toMatchObject({ phase: "Creating", formed: false });
    expect(condition(creating, "Available")?.status).toBe("False");
    const formed = statusOf(new World(3).input(), creating);
    expect(formed.formed).toBe(true);
    const silent = statusOf({ cluster, statefulSet: { replicas: 3, readyReplicas: 0 }, pods: [] }, formed);
    expect(silent).toMatchObject({ formed: true, phase: "Degraded", term: formed.term, commitIndex: formed.commitIndex });
    expect(condition(silent, "Available")).toMatchObject({ status: "False", reason: "NoAnswer" });
  });
});
