import { describe, expect, it } from "vitest";
import { activeFailpoints, failpointAfter } from "../../src/operator/controller/failpoint.js";
import { ordinalOf, podViews, statefulSetView } from "../../src/operator/controller/observe.js";
import { eventForStep } from "../../src/operator/controller/step-events.js";
import type { KubeObject, PlanStep } from "../../src/operator/types.js";
import { parseLabels } from "../../src/cli/operator-command.js";

const set: KubeObject = {
  apiVersion: "apps/v1", kind: "StatefulSet", metadata: { name: "demo", namespace: "ns", uid: "set-uid" },
  spec: { replicas: 3, updateStrategy: { type: "OnDelete" } },
  status: { readyReplicas: 2, currentRevision: "demo-a", updateRevision: "demo-b" },
};
const pod = (name: string, extra: Partial<KubeObject["metadata"]> = {}, ready = true, restarts = 0): KubeObject => ({
  apiVersion: "v1", kind: "Pod",
  metadata: { name, namespace: "ns", labels: { "controller-revision-hash": "demo-a" }, ownerReferences: [{ apiVersion: "apps/v1", kind: "StatefulSet", name: "demo", uid: "set-uid", controller: true }], ...extra },
  status: { phase: "Running", conditions: [{ type: "Ready", status: ready ? "True" : "False" }], containerStatuses: [{ restartCount: restarts }] },
});

describe("observing pods and the StatefulSet", () => {
  it("reads ordinals only from names of the set's shape", () => {
    expect(ordinalOf("demo-0", "demo")).toBe(0);
    expect(ordinalOf("demo-12", "demo")).toBe(12);
    expect(ordinalOf("demo-01", "demo")).toBeUndefined();
    expect(ordinalOf("demo-coord-7d9", "demo")).toBeUndefined();
    expect(ordinalOf("other-1", "demo")).toBeUndefined();
  });

  it("keeps only pods the set controls, in ordinal order, with readiness, restarts and deletion", () => {
    const views = podViews([
      pod("demo-2", { deletionTimestamp: "2026-01-01T00:00:00Z" }),
      pod("demo-0", {}, true, 2),
      pod("demo-1", {}, false),
      pod("demo-3", { ownerReferences: [{ apiVersion: "apps/v1", kind: "StatefulSet", name: "demo", uid: "an-older-set", controller: true }] }),
    ], set);
    expect(views).toEqual([
      { ordinal: 0, name: "demo-0", phase: "Running", ready: true, terminating: false, restartCount: 2, revision: "demo-a" },
      { ordinal: 1, name: "demo-1", phase: "Running", ready: false, terminating: false, restartCount: 0, revision: "demo-a" },
      { ordinal: 2, name: "demo-2", phase: "Running", ready: true, terminating: true, restartCount: 0, revision: "demo-a" },
    ]);
  });

  it("reads the set's replicas, readiness and revisions", () => {
    expect(statefulSetView(set)).toEqual({ replicas: 3, readyReplicas: 2, currentRevision: "demo-a", updateRevision: "demo-b" });
  });
});

describe("failpoints, events and flags", () => {
  it("names the failpoint after a step", () => {
    expect(failpointAfter("AddLearner")).toBe("after-add-learner");
    expect(failpointAfter("ScaleStatefulSet")).toBe("after-scale-stateful-set");
    expect([...activeFailpoints({ KVRAFT_OPERATOR_FAILPOINT: " after-add-learner, after-remove-member " })]).toEqual(["after-add-learner", "after-remove-member"]);
    expect(activeFailpoints({}).size).toBe(0);
  });

  it("gives a person an Event for every step that changes something, a Warning for a refusal, none for waiting", () => {
    const steps: PlanStep[] = [
      { kind: "AddLearner", memberId: 4, reason: "ScalingOut" },
      { kind: "PromoteLearner", memberId: 4, reason: "caught up" },
      { kind: "RemoveMember", memberId: 5, reason: "ScalingIn" },
      { kind: "TransferLeader", from: 1, to: 2, reason: "RollingUpdate" },
      { kind: "ScaleStatefulSet", replicas: 5, reason: "ScalingOut" },
      { kind: "Refuse", reason: "RefusedUnsafeChange", message: "would lose quorum" },
    ];
    const events = steps.map((s) => eventForStep(s, "demo", 3));
    expect(events.map((e) => e?.reason)).toEqual(["MemberAdded", "LearnerPromoted", "MemberRemoved", "LeaderTransferred", "ScalingStatefulSet", "RefusedUnsafeChange"]);
    expect(events[0]?.message).toContain("pod demo-3");
    expect(events[4]?.message).toContain("3 -> 5");
    expect(events[5]?.type).toBe("Warning");
    expect(eventForStep({ kind: "Wait", reason: "x" }, "demo")).toBeUndefined();
  });

  it("parses the operator pods' labels", () => {
    expect(parseLabels("a=1, b=x=y")).toEqual({ a: "1", b: "x=y" });
    expect(() => parseLabels("novalue")).toThrow(/key=value/);
  });
});
