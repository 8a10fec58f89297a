import { describe, expect, it } from "vitest";
import { useCrdRig } from "../support/crd-rig.js";

// The KVRaftBackup CRD on a real API server: its CEL rules compile within the cost
// budget and refuse what they should with their own messages; kubectl get prints the
// columns. No operator runs here.

const NS = "kvrb-crd";

function backup(name: string, target: Record<string, unknown>, cluster = "kv"): object {
  return { apiVersion: "kvraft.io/v1alpha1", kind: "KVRaftBackup", metadata: { name, namespace: NS }, spec: { cluster, target } };
}

describe("the KVRaftBackup CRD on a real API server", () => {
  const crd = useCrdRig(NS, "kvraftbackup.yaml", "kvraftbackups.kvraft.io");
  const refused = crd.refused;

  it("refuses a path that leaves the claim, and a backup without a claim", async () => {
    for (const path of ["/etc/passwd", "../x.kvbackup", "a/../../b", "a//b"]) {
      expect(await refused(backup("bad", { claimName: "backups", path }))).toContain("spec.target.path must be relative to the claim's root");
    }
    expect(await refused(backup("noclaim", {}))).toMatch(/claimName: Required value/);
  });

  it("takes a backup, keeps its spec as it was asked for, and prints its columns", async () => {
    await crd.rig().apply(backup("nightly", { claimName: "backups", path: "kv/nightly.kvbackup" }));
    expect(await refused(backup("nightly", { claimName: "other" }))).toContain("spec is immutable");
    const table = await crd.rig().kubectlOk(["get", "kvraftbackups", "-n", NS]);
    expect(table.split("\n")[0]).toMatch(/NAME\s+CLUSTER\s+PHASE\s+SIZE\s+REVISION\s+AGE/);
  });
});
