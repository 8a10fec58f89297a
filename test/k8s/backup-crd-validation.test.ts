import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KubeRig, rigBinaries } from "../../src/devcluster/control-plane.js";

// The KVRaftBackup CRD on a real API server: its CEL rules compile within the cost
// budget and refuse what they should with their own messages; kubectl get prints the
// columns. No operator runs here.

const NS = "kvrb-crd";
const CRD = readFileSync(new URL("../../crds/kvraftbackup.yaml", import.meta.url), "utf8");

function backup(name: string, target: Record<string, unknown>, cluster = "kv"): object {
  return { apiVersion: "kvraft.io/v1alpha1", kind: "KVRaftBackup", metadata: { name, namespace: NS }, spec: { cluster, target } };
}

describe("the KVRaftBackup CRD on a real API server", () => {
  let rig: KubeRig;

  const refused = async (manifest: object): Promise<string> => {
    const result = await rig.kubectl(["apply", "-f", "-"], { input: JSON.stringify(manifest) });
    expect(result.code, `applied, but should have been refused: ${JSON.stringify(manifest)}`).not.toBe(0);
    return result.stderr;
  };

  beforeAll(async () => {
    await rigBinaries();
  }, 90 * 60_000);

  beforeAll(async () => {
    rig = await KubeRig.start({ nodes: 1 });
    await rig.kubectlOk(["create", "namespace", NS]);
    await rig.apply(CRD);
    await rig.kubectlOk(["wait", "--for=condition=Established", "crd/kvraftbackups.kvraft.io", "--timeout=60s"]);
  }, 300_000);

  afterAll(async () => {
    await rig?.stop();
  }, 60_000);

  it("refuses a path that leaves the claim, and a backup without a claim", async () => {
    for (const path of ["/etc/passwd", "../x.kvbackup", "a/../../b", "a//b"]) {
      expect(await refused(backup("bad", { claimName: "backups", path }))).toContain("spec.target.path must be relative to the claim's root");
    }
    expect(await refused(backup("noclaim", {}))).toMatch(/claimName: Required value/);
  });

  it("takes a backup, keeps its spec as it was asked for, and prints its columns", async () => {
    await rig.apply(backup("nightly", { claimName: "backups", path: "kv/nightly.kvbackup" }));
    expect(await refused(backup("nightly", { claimName: "other" }))).toContain("spec is immutable");
    const table = await rig.kubectlOk(["get", "kvraftbackups", "-n", NS]);
    expect(table.split("\n")[0]).toMatch(/NAME\s+CLUSTER\s+PHASE\s+SIZE\s+REVISION\s+AGE/);
  });
});
