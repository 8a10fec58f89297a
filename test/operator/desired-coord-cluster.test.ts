import { describe, expect, it } from "vitest";
import { desiredObjects } from "../../src/operator/desired/index.js";
import type { KVRaftCluster, RecoveryStatus } from "../../src/operator/types.js";
import { findObject, makeCluster, OPTIONS } from "./fixtures.js";

interface EnvVar { name: string; value?: string }
interface Template { spec: { containers: { env: EnvVar[] }[] } }

const NEW_ID = "5e1ec7ed-0000-8000-8000-000000000042";

const templateOf = (cluster: KVRaftCluster, kind: "Deployment" | "StatefulSet", name: string): Template =>
  (findObject(desiredObjects(cluster, OPTIONS), kind, name) as unknown as { spec: { template: Template } }).spec.template;
const envOf = (template: Template, name: string): string | undefined => template.spec.containers[0]?.env.find((e) => e.name === name)?.value;

function recovered(cluster: KVRaftCluster): KVRaftCluster {
  const recovery: RecoveryStatus = {
    phase: "Rebuilding", fromMember: 2, fromClusterId: cluster.metadata.uid as string, clusterId: NEW_ID,
    commitIndex: 40, lastIndex: 42, startedAt: "2026-01-01T00:00:00Z", message: "recovering",
  };
  return { ...cluster, status: { ...cluster.status, recovery } };
}

/**
 * The coordinator Deployment serves the one cluster its members carry, so the old id's
 * members do not linger in its view after a quorum-loss recovery (GET /v1/cluster would
 * answer AMBIGUOUS_CLUSTER for forgetAfterMs) and no stranger adds a cluster.
 */
describe("the coordinator Deployment's cluster id", () => {
  const cluster = makeCluster();

  it("is the id the members carry: the CR's uid", () => {
    const coordinator = templateOf(cluster, "Deployment", "kv-coord");
    expect(envOf(coordinator, "KVRAFT_COORD_CLUSTER_ID")).toBe(cluster.metadata.uid);
    expect(envOf(coordinator, "KVRAFT_COORD_CLUSTER_ID")).toBe(envOf(templateOf(cluster, "StatefulSet", "kv"), "KVRAFT_CLUSTER_ID"));
  });

  it("follows a recovery's new id (status.recovery.clusterId), changing the pod template so the coordinator rolls", () => {
    const before = templateOf(cluster, "Deployment", "kv-coord");
    const after = templateOf(recovered(cluster), "Deployment", "kv-coord");
    expect(envOf(after, "KVRAFT_COORD_CLUSTER_ID")).toBe(NEW_ID);
    expect(envOf(after, "KVRAFT_COORD_CLUSTER_ID")).toBe(envOf(templateOf(recovered(cluster), "StatefulSet", "kv"), "KVRAFT_CLUSTER_ID"));
    expect(after).not.toEqual(before);
  });
});
