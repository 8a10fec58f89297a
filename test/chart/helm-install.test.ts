/**
 * The chart in a real control plane (test/support/k8s-rig.ts): `helm install` puts the
 * CRD, the operator's Deployment and its RBAC in; then the operator, authenticated as the
 * chart's ServiceAccount with that account's own token, reconciles examples/cluster.yaml
 * to a Running cluster. So the chart's RBAC is exercised, not just written: a verb it
 * lacks shows as a "forbidden" in the operator's log, and is a failure here. (The
 * operator runs as a process beside the rig, as in test/k8s/: kwok's pods run nothing.
 * The servers' admin API is the test double.)
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ClusterStatus } from "../../src/operator/types.js";
import { toolBinary } from "../../tools/go-tools.mjs";
import { AdminDouble } from "../support/admin-double.js";
import { KubeRig, rigBinaries } from "../../src/devcluster/control-plane.js";
import { waitFor } from "../support/wait.js";
import { OperatorProcess } from "../k8s/operator-harness.js";
import { CHART_DIR, helm, REPO_ROOT } from "./chart-render.js";

const RELEASE = "kvr";
const OPERATOR_NS = "kvraft-system";
const SERVICE_ACCOUNT = `${RELEASE}-kvraft-operator`;
const EXAMPLE = join(REPO_ROOT, "examples", "cluster.yaml");
const CLUSTER = (parse(readFileSync(EXAMPLE, "utf8")) as { metadata: { name: string } }).metadata.name;
const CLUSTER_NS = "default";
/** The chart's default Lease name (values.yaml operator.leaseName), which its Role names. */
const LEASE = "kvraft-operator";

/** What the API server refused, from one of the operator's JSON log lines. */
function refusal(line: string): string {
  try {
    const entry = JSON.parse(line) as { err?: { message?: string }; msg?: string };
    return entry.err?.message ?? entry.msg ?? line;
  } catch {
    return line;
  }
}

interface ClusterJson { metadata: { uid: string; generation: number }; status?: ClusterStatus }

describe("helm install of the chart, and the operator working with the chart's RBAC", () => {
  let rig: KubeRig | undefined;
  let double: AdminDouble | undefined;
  let operator: OperatorProcess | undefined;
  const started = (): KubeRig => {
    if (rig === undefined) throw new Error("the rig did not start");
    return rig;
  };

  beforeAll(async () => {
    // Cold builds of the control plane and helm take many minutes, once per machine.
    await Promise.all([rigBinaries(), toolBinary("helm", "helm")]);
  }, 90 * 60_000);

  beforeAll(async () => {
    rig = await KubeRig.start();
  }, 300_000);

  afterAll(async () => {
    await operator?.stop();
    await double?.stop();
    await rig?.stop();
  }, 90_000);

  it("installs the CRD, the operator's Deployment (Ready on kwok's nodes) and its RBAC, and prints the notes", async () => {
    const result = await helm(["install", RELEASE, CHART_DIR, "--namespace", OPERATOR_NS, "--create-namespace", "--wait", "--timeout", "180s"], started().kubeconfig);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain("STATUS: deployed");
    expect(result.stdout).toContain("kubectl apply -f examples/cluster.yaml");

    const crd = await started().getJson<{ status: { conditions: { type: string; status: string }[] } }>(["get", "crd", "kvraftclusters.kvraft.io", "-o", "json"]);
    expect(crd.status.conditions.find((c) => c.type === "Established")?.status).toBe("True");
    const deployment = await started().getJson<{ status: { readyReplicas?: number } }>(["get", "deployment", SERVICE_ACCOUNT, "-n", OPERATOR_NS, "-o", "json"]);
    expect(deployment.status.readyReplicas).toBe(2);
    const canI = await started().kubectl(["auth", "can-i", "delete", "kvraftclusters", "--all-namespaces", "--as", `system:serviceaccount:${OPERATOR_NS}:${SERVICE_ACCOUNT}`]);
    expect(canI.stdout.trim(), "the operator never deletes a cluster").toBe("no");
    for (const verb of ["list", "watch"]) {
      const onSecrets = await started().kubectl(["auth", "can-i", verb, "secrets", "--all-namespaces", "--as", `system:serviceaccount:${OPERATOR_NS}:${SERVICE_ACCOUNT}`]);
      expect(onSecrets.stdout.trim(), `the operator may not ${verb} Secrets: it reads its own by name`).toBe("no");
    }
  }, 300_000);

  it("the operator, as the chart's ServiceAccount, reconciles examples/cluster.yaml to Running, with no request forbidden", async () => {
    const kube = started();
    const account = `system:serviceaccount:${OPERATOR_NS}:${SERVICE_ACCOUNT}`;
    // The authorizer reads RBAC from an informer: a grant takes effect shortly after it is written.
    await waitFor("the chart's RBAC to take effect", async () =>
      (await kube.kubectl(["auth", "can-i", "watch", "kvraftclusters", "--all-namespaces", "--as", account])).stdout.trim() === "yes" || undefined, 30_000, 200);
    await kube.kubectlOk(["apply", "-n", CLUSTER_NS, "-f", EXAMPLE]);
    const cluster = (): Promise<ClusterJson> => kube.getJson<ClusterJson>(["get", "kvr", CLUSTER, "-n", CLUSTER_NS, "-o", "json"]);
    double = await AdminDouble.start({ clusterId: (await cluster()).metadata.uid, voters: [1, 2, 3] });
    operator = await OperatorProcess.start({
      kubeconfig: await kube.serviceAccountKubeconfig(OPERATOR_NS, SERVICE_ACCOUNT),
      namespace: "all", // the chart's default: every namespace, through the ClusterRoleBinding
      adminEndpoint: double.url,
      leaderElect: { identity: "chart-test-operator", leaseNamespace: OPERATOR_NS },
      env: { POD_NAMESPACE: OPERATOR_NS },
    });
    await operator.ready();
    const running = operator;
    try {
      await waitFor("the example cluster Running with 3/3 ready", async () => {
        const c = await cluster();
        return (c.status?.phase === "Running" && c.status.readyReplicas === 3 && c.status.observedGeneration === c.metadata.generation) || undefined;
      }, 240_000, 500);
    } catch (error) {
      throw new Error(`${(error as Error).message}\noperator log:\n${running.tail()}`);
    }
    const forbidden = running.lines.filter((line) => /forbidden/i.test(line)).map(refusal);
    expect(forbidden, "requests the chart's RBAC refused").toEqual([]);

    const table = await kube.kubectlOk(["get", "kvr", CLUSTER, "-n", CLUSTER_NS]);
    expect(table.trim().split("\n")[1]?.split(/\s+/).slice(0, 3)).toEqual([CLUSTER, "3", "3"]);
    expect(table).toContain("Running");
    // Events of its creation, written with the chart's grant on events.
    const events = await kube.getJson<{ items: unknown[] }>(["get", "events", "-n", CLUSTER_NS, "--field-selector", `involvedObject.kind=KVRaftCluster,involvedObject.name=${CLUSTER}`, "-o", "json"]);
    expect(events.items.length).toBeGreaterThan(0);
    // Leadership on the one Lease the chart's Role names.
    const lease = await kube.getJson<{ spec: { holderIdentity?: string } }>(["get", "lease", LEASE, "-n", OPERATOR_NS, "-o", "json"]);
    expect(lease.spec.holderIdentity).toBe("chart-test-operator");
  }, 360_000);
});
