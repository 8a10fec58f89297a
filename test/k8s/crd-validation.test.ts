import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { useCrdRig } from "../support/crd-rig.js";
import { parse } from "yaml";
import { desiredObjects } from "../../src/operator/desired/index.js";
import type { KVRaftCluster } from "../../src/operator/types.js";
import { FAKE_TLS } from "../operator/fixtures.js";

// The KVRaftCluster CRD on a real API server: its CEL rules compile within the cost
// budget, refuse what they should with their own messages, and the defaults, printer
// columns and scale subresource work; the examples apply, and every desired manifest
// made from one passes the API server's own validation (a server-side dry run). No
// operator runs here.

const NS = "kvr-crd";

function cluster(name: string, spec: Record<string, unknown>): object {
  return { apiVersion: "kvraft.io/v1alpha1", kind: "KVRaftCluster", metadata: { name, namespace: NS }, spec };
}

describe("the KVRaftCluster CRD on a real API server", () => {
  const crd = useCrdRig(NS, "kvraftcluster.yaml", "kvraftclusters.kvraft.io");
  const refused = crd.refused;

  it("fills in the defaults of a minimal cluster", async () => {
    await crd.rig().apply(cluster("minimal", { image: "kvraft:test" }));
    const spec = (await crd.rig().getJson<{ spec: Record<string, unknown> }>(["get", "kvr", "minimal", "-n", NS, "-o", "json"])).spec;
    expect(spec).toMatchObject({
      replicas: 3, imagePullPolicy: "IfNotPresent", storage: { size: "1Gi" }, pvcRetention: { whenDeleted: "Retain", whenScaled: "Retain" },
      raft: { heartbeatMs: 100, electionMs: 1000 }, coordinator: { replicas: 1 }, service: { type: "ClusterIP" }, monitoring: { podMonitor: false },
      networkPolicy: { enabled: true }, tls: { enabled: true, certificateValidDays: 365, renewBeforeDays: 30 },
    });
  });

  it("refuses 4 replicas, a missing image, a size that is not a quantity, with messages that say what to do", async () => {
    expect(await refused(cluster("four", { replicas: 4, image: "kvraft:test" }))).toContain("spec.replicas must be 1, 3, 5 or 7");
    expect(await refused(cluster("noimage", { replicas: 3 }))).toContain("spec.image is required");
    expect(await refused(cluster("badsize", { image: "kvraft:test", storage: { size: "lots" } }))).toContain("must be a Kubernetes quantity");
    expect(await refused(cluster("timing", { image: "kvraft:test", raft: { heartbeatMs: 500, electionMs: 600 } }))).toContain("at least twice");
    const both = { allowedNamespaces: [{ name: "apps", matchLabels: { team: "a" } }] };
    expect(await refused(cluster("npboth", { image: "kvraft:test", networkPolicy: both }))).toContain("exactly one of the two");
    expect(await refused(cluster("npneither", { image: "kvraft:test", networkPolicy: { allowedNamespaces: [{}] } }))).toContain("exactly one of the two");
    expect(await refused(cluster("renewall", { image: "kvraft:test", tls: { certificateValidDays: 20 } }))).toContain("spec.tls.renewBeforeDays must be less than spec.tls.certificateValidDays");
    await crd.rig().apply(cluster("shortcerts", { image: "kvraft:test", tls: { certificateValidDays: 20, renewBeforeDays: 5 } }));
    await crd.rig().apply(cluster("npok", { image: "kvraft:test", networkPolicy: { allowedNamespaces: [{ name: "apps" }, { matchLabels: {} }], allowedPodLabels: { role: "client" } } }));
  });

  it("refuses spec.monitoring labels, namespaces and lists Kubernetes would refuse, and takes kube-prometheus-stack's", async () => {
    const monitoring = (fields: Record<string, unknown>): Record<string, unknown> => ({ image: "kvraft:test", monitoring: { podMonitor: true, ...fields } });
    expect(await refused(cluster("monkey", monitoring({ podMonitorLabels: { "bad key!": "x" } })))).toContain("every key of spec.monitoring.podMonitorLabels must be a label key");
    expect(await refused(cluster("monvalue", monitoring({ podMonitorLabels: { release: "-x" } })))).toMatch(/spec\.monitoring\.podMonitorLabels\.release.*should match/);
    expect(await refused(cluster("monlong", monitoring({ allowedPodLabels: { app: "x".repeat(64) } })))).toMatch(/spec\.monitoring\.allowedPodLabels\.app/);
    expect(await refused(cluster("monown", monitoring({ podMonitorLabels: { "app.kubernetes.io/managed-by": "me" } })))).toContain("the operator sets them and finds its objects by them");
    expect(await refused(cluster("monnskey", monitoring({ allowedNamespaces: [{ matchLabels: { "Bad/Key": "x" } }] })))).toContain("every key of spec.monitoring.allowedNamespaces[].matchLabels must be a label key");
    expect(await refused(cluster("monns", monitoring({ allowedNamespaces: [{ name: "Not_A_Namespace" }] })))).toMatch(/spec\.monitoring\.allowedNamespaces\[0\]\.name.*should match/);
    expect(await refused(cluster("monboth", monitoring({ allowedNamespaces: [{ name: "a", matchLabels: {} }] })))).toContain("exactly one of the two");
    const many = Array.from({ length: 33 }, (_, i) => ({ name: `ns${i}` }));
    expect(await refused(cluster("monmany", monitoring({ allowedNamespaces: many })))).toMatch(/spec\.monitoring\.allowedNamespaces: Too many: 33: must have at most 32 items/);
    await crd.rig().apply(cluster("monok", monitoring({
      podMonitorLabels: { release: "kube-prometheus-stack", "example.com/team": "" },
      allowedNamespaces: [{ name: "monitoring" }, { matchLabels: { "kubernetes.io/metadata.name": "observability" } }],
      allowedPodLabels: { "app.kubernetes.io/name": "prometheus" },
    })));
  });

  it("lets storage grow and refuses to shrink it", async () => {
    await crd.rig().apply(cluster("grow", { image: "kvraft:test", storage: { size: "2Gi" } }));
    await crd.rig().apply(cluster("grow", { image: "kvraft:test", storage: { size: "3Gi" } }));
    expect(await refused(cluster("grow", { image: "kvraft:test", storage: { size: "2500Mi" } }))).toContain("spec.storage.size cannot shrink");
  });

  it("scales through the scale subresource, within the same rule", async () => {
    await crd.rig().apply(cluster("scaled", { image: "kvraft:test" }));
    await crd.rig().kubectlOk(["scale", "kvr", "scaled", "-n", NS, "--replicas", "5"]);
    expect((await crd.rig().getJson<{ spec: { replicas: number } }>(["get", "kvr", "scaled", "-n", NS, "-o", "json"])).spec.replicas).toBe(5);
    const four = await crd.rig().kubectl(["scale", "kvr", "scaled", "-n", NS, "--replicas", "4"]);
    expect(four.code).not.toBe(0);
    expect(four.stderr).toContain("spec.replicas must be 1, 3, 5 or 7");
  });

  it.each(["cluster.yaml", "cluster-full.yaml"])("applies examples/%s, and the API server accepts every manifest the operator would make from it", async (file) => {
    const example = parse(readFileSync(new URL(`../../examples/${file}`, import.meta.url), "utf8")) as KVRaftCluster;
    const name = example.metadata.name;
    await crd.rig().apply({ ...example, metadata: { ...example.metadata, namespace: NS } });
    const stored = await crd.rig().getJson<KVRaftCluster>(["get", "kvr", name, "-n", NS, "-o", "json"]);
    const objects = desiredObjects(stored, {
      adminToken: "dry-run-token",
      clientTokens: { readWrite: "dry-run-read-write-token", readOnly: "dry-run-read-only-token" },
      tls: FAKE_TLS,
      operator: { namespace: "kvraft-system", podLabels: { "app.kubernetes.io/name": "kvraft-operator" } },
    });
    const list = { apiVersion: "v1", kind: "List", items: objects };
    const result = await crd.rig().kubectl(["apply", "--server-side", "--dry-run=server", "--field-manager=kvraft-operator", "-f", "-"], { input: JSON.stringify(list) });
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout.trim().split("\n")).toHaveLength(objects.length);
  });

  it("kubectl get kvr prints the columns", async () => {
    const header = (await crd.rig().kubectlOk(["get", "kvr", "-n", NS])).split("\n")[0] ?? "";
    expect(header.split(/\s+/)).toEqual(["NAME", "REPLICAS", "READY", "LEADER", "TERM", "PHASE", "AGE"]);
  });
});
