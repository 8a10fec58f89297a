import { describe, expect, it } from "vitest";
import { InvariantError } from "../../src/assert/invariant.js";
import { clusterUid } from "../../src/operator/desired/meta.js";
import { restoreJob } from "../../src/operator/desired/restore-job.js";
import { KubeconfigError, OperatorError, SpecError } from "../../src/operator/errors.js";
import { loadKubeConfig } from "../../src/operator/controller/kube-rest.js";
import { makeCluster } from "./fixtures.js";

describe("the operator's failures, by what a person does about them", () => {
  it("a spec it cannot act on is a SpecError naming the resource and the field", () => {
    const cluster = { ...makeCluster(), metadata: { name: "kv", namespace: "default", uid: "u-1" } };
    const attempt = (): unknown => restoreJob(cluster, { claimName: "backups", path: "../elsewhere.kvbackup" });
    expect(attempt).toThrow(SpecError);
    expect(attempt).toThrow(/KVRaftCluster kv: the backup's path/);
  });

  it("a kubeconfig that does not load is a KubeconfigError naming the file", () => {
    let caught: unknown;
    try {
      loadKubeConfig("/nonexistent/kvraft-test.kubeconfig");
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(KubeconfigError);
    expect(caught).toBeInstanceOf(OperatorError);
    expect((caught as Error).message).toContain("cannot load the kubeconfig /nonexistent/kvraft-test.kubeconfig");
  });

  it("a manifest made from an object the API server never returned is the operator's own bug: an InvariantError", () => {
    const withoutUid = { ...makeCluster(), metadata: { name: "kv", namespace: "default" } };
    expect(() => clusterUid(withoutUid)).toThrow(InvariantError);
    expect(() => clusterUid(withoutUid)).toThrow(/^broken invariant: KVRaftCluster kv has no metadata.uid/);
  });
});
