import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { memberIdFromPodName } from "../../src/cli/server-command.js";
import { desiredObjects } from "../../src/operator/desired/index.js";
import type { KVRaftCluster } from "../../src/operator/types.js";
import { OPTIONS } from "./fixtures.js";

/** An example as the API server would hand it back: with a uid and a namespace. */
function example(file: string): KVRaftCluster {
  const object = parse(readFileSync(new URL(`../../examples/${file}`, import.meta.url), "utf8")) as KVRaftCluster;
  return { ...object, metadata: { ...object.metadata, namespace: "default", uid: "6a3e9a4c-0000-4000-8000-000000000001" } };
}

describe("examples", () => {
  it("the minimal example renders a three-member cluster", () => {
    const objects = desiredObjects(example("cluster.yaml"), OPTIONS);
    const sts = objects.find((o) => o.kind === "StatefulSet") as unknown as { spec: { replicas: number } };
    expect(sts.spec.replicas).toBe(3);
  });

  it("the full example renders every option, the PodMonitor included", () => {
    const objects = desiredObjects(example("cluster-full.yaml"), { ...OPTIONS, podMonitorAvailable: true });
    expect(objects.filter((o) => o.kind === "PodMonitor").map((o) => o.metadata.labels?.["release"])).toEqual(["kube-prometheus-stack", "kube-prometheus-stack"]);
    const text = JSON.stringify(objects);
    for (const expected of ["fast-ssd", "20Gi", "LoadBalancer", "high-priority", "payments-oncall", "topology.kubernetes.io/zone", "\"Delete\""]) expect(text).toContain(expected);
  });

  it("the example from a backup founds its cluster with member 1 alone", () => {
    const cluster = example("cluster-from-backup.yaml");
    expect(cluster.spec.bootstrap?.fromBackup).toEqual({ backupName: "example-first" });
    const sts = desiredObjects(cluster, OPTIONS).find((o) => o.kind === "StatefulSet") as unknown as { spec: { replicas: number } };
    expect(sts.spec.replicas).toBe(1);
  });
});

describe("a pod's member id", () => {
  it("is its StatefulSet ordinal plus one", () => {
    expect(memberIdFromPodName("kv-0")).toBe(1);
    expect(memberIdFromPodName("my-cluster-12")).toBe(13);
  });

  it("cannot be guessed from a name without an ordinal, and the message says what to set", () => {
    expect(() => memberIdFromPodName(undefined)).toThrow(/--id is required .*POD_NAME is not set/);
    expect(() => memberIdFromPodName("kv")).toThrow(/POD_NAME is "kv"/);
  });
});
