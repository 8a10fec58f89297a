import { describe, expect, it } from "vitest";
import { APPLIED_HASH_ANNOTATION, canonicalJson, hashOf, needsApply, needsStatusWrite, withAppliedHash } from "../../src/operator/controller/apply-decision.js";
import type { KubeObject } from "../../src/operator/types.js";

const desired: KubeObject = {
  apiVersion: "v1", kind: "ConfigMap",
  metadata: { name: "demo-config", namespace: "ns", labels: { a: "1" } },
  data: { peers: "1=a:7000,2=b:7000", "initial-cluster-state": "new" },
};

/** What the API server would hold after the operator applied `applied`: defaults and others' fields added. */
function liveAfterApplying(applied: KubeObject): KubeObject {
  const stamped = withAppliedHash(applied);
  return {
    ...stamped,
    metadata: { ...stamped.metadata, uid: "u1", resourceVersion: "42", annotations: { ...stamped.metadata.annotations, "someone.else/note": "x" } },
    immutable: false,
  };
}

describe("server-side apply idempotence decision", () => {
  it("applies an object that does not exist", () => {
    expect(needsApply(desired, undefined)).toBe(true);
  });

  it("writes nothing when the live object carries the hash of the same desired state, whatever else it holds", () => {
    expect(needsApply(desired, liveAfterApplying(desired))).toBe(false);
  });

  it("key order does not matter", () => {
    const reordered: KubeObject = { kind: "ConfigMap", apiVersion: "v1", data: { "initial-cluster-state": "new", peers: "1=a:7000,2=b:7000" }, metadata: { namespace: "ns", name: "demo-config", labels: { a: "1" } } };
    expect(hashOf(reordered)).toBe(hashOf(desired));
    expect(needsApply(reordered, liveAfterApplying(desired))).toBe(false);
  });

  it("applies again when the desired state changed", () => {
    const changed: KubeObject = { ...desired, data: { peers: "1=a:7000", "initial-cluster-state": "existing" } };
    expect(needsApply(changed, liveAfterApplying(desired))).toBe(true);
  });

  it("applies when the live object lost the annotation (someone replaced it)", () => {
    expect(needsApply(desired, { ...desired, metadata: { ...desired.metadata } })).toBe(true);
  });

  it("leaves an object being deleted alone", () => {
    const live = liveAfterApplying({ ...desired, data: {} });
    expect(needsApply(desired, { ...live, metadata: { ...live.metadata, deletionTimestamp: "2026-01-01T00:00:00Z" } })).toBe(false);
  });

  it("the stamped object keeps the desired content and the other annotations", () => {
    const withNote: KubeObject = { ...desired, metadata: { ...desired.metadata, annotations: { keep: "me" } } };
    const stamped = withAppliedHash(withNote);
    expect(stamped.metadata.annotations).toEqual({ keep: "me", [APPLIED_HASH_ANNOTATION]: hashOf(withNote) });
    expect(stamped["data"]).toEqual(desired["data"]);
  });

  it("canonical JSON drops undefined fields and sorts keys", () => {
    expect(canonicalJson({ b: 1, a: undefined, c: [1, { z: 1, y: 2 }] })).toBe('{"b":1,"c":[1,{"y":2,"z":1}]}');
  });

  it("status: equal content needs no write, a changed field does", () => {
    const status = { phase: "Running", conditions: [{ type: "Available", status: "True" }], replicas: 3 };
    expect(needsStatusWrite({ replicas: 3, phase: "Running", conditions: [{ status: "True", type: "Available" }] }, status)).toBe(false);
    expect(needsStatusWrite({ ...status, replicas: 5 }, status)).toBe(true);
    expect(needsStatusWrite(status, undefined)).toBe(true);
  });
});
