import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { restoreClaim, restoreJob } from "../../src/operator/desired/restore-job.js";
import type { KVRaftCluster } from "../../src/operator/types.js";
import { useCrdRig } from "../support/crd-rig.js";

// spec.bootstrap of the KVRaftCluster CRD on a real API server: one form of the source,
// a path that stays inside its claim, immutable once made; and the restore Job and claim
// the operator makes for it pass the API server's own validation. No operator runs here.

const NS = "kvr-boot-crd";

function cluster(name: string, bootstrap?: Record<string, unknown>): object {
  return { apiVersion: "kvraft.io/v1alpha1", kind: "KVRaftCluster", metadata: { name, namespace: NS }, spec: { image: "kvraft:test", ...(bootstrap === undefined ? {} : { bootstrap }) } };
}

describe("spec.bootstrap on a real API server", () => {
  const crd = useCrdRig(NS, "kvraftcluster.yaml", "kvraftclusters.kvraft.io");
  const refused = crd.refused;

  it("takes a backup by name, or a claim and a path, exactly one of the two; a path may not leave its claim", async () => {
    const both = { fromBackup: { backupName: "nightly", claimName: "backups", path: "a.kvbackup" } };
    expect(await refused(cluster("both", both))).toContain("exactly one of the two");
    expect(await refused(cluster("neither", { fromBackup: {} }))).toContain("exactly one of the two");
    expect(await refused(cluster("claimonly", { fromBackup: { claimName: "backups" } }))).toContain("claimName and path go together");
    for (const path of ["/etc/passwd", "../x.kvbackup", "a/../../b", "a//b"]) {
      expect(await refused(cluster("leaves", { fromBackup: { claimName: "backups", path } }))).toContain("spec.bootstrap.fromBackup.path must be relative to the claim's root");
    }
    await crd.rig().apply(cluster("byname", { fromBackup: { backupName: "nightly" } }));
    const example = parse(readFileSync(new URL("../../examples/cluster-from-backup.yaml", import.meta.url), "utf8")) as { metadata: Record<string, unknown> };
    await crd.rig().apply({ ...example, metadata: { ...example.metadata, namespace: NS } });
    await crd.rig().apply(cluster("byclaim", { fromBackup: { claimName: "backups", path: "example/first.kvbackup" } }));
  });

  it("keeps spec.bootstrap as made: it cannot change, be added or be removed", async () => {
    await crd.rig().apply(cluster("fixed", { fromBackup: { backupName: "nightly" } }));
    expect(await refused(cluster("fixed", { fromBackup: { backupName: "other" } }))).toContain("spec.bootstrap is immutable");
    expect(await refused(cluster("fixed"))).toContain("cannot be added or removed");
    await crd.rig().apply(cluster("plain"));
    expect(await refused(cluster("plain", { fromBackup: { backupName: "nightly" } }))).toContain("cannot be added or removed");
    // Other fields still change.
    await crd.rig().kubectlOk(["patch", "kvr", "fixed", "-n", NS, "--type", "merge", "-p", JSON.stringify({ spec: { replicas: 5 } })]);
  });

  it("the restore claim and Job the operator would make pass the API server's validation", async () => {
    const stored = await crd.rig().getJson<KVRaftCluster>(["get", "kvr", "byclaim", "-n", NS, "-o", "json"]);
    const objects = [restoreClaim(stored), restoreJob(stored, { claimName: "backups", path: "example/first.kvbackup" })];
    const result = await crd.rig().kubectl(["apply", "--server-side", "--dry-run=server", "--field-manager=kvraft-operator", "-f", "-"], { input: JSON.stringify({ apiVersion: "v1", kind: "List", items: objects }) });
    expect(result.stderr).toBe("");
    expect(result.stdout.trim().split("\n")).toHaveLength(2);
  });
});
