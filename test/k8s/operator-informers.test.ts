import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { objectNames } from "../../src/operator/desired/index.js";
import type { RunningOperator } from "../../src/operator/controller/operator.js";
import { startOperator } from "../../src/operator/controller/operator.js";
import type { ClusterStatus } from "../../src/operator/types.js";
import { AdminDouble } from "../support/admin-double.js";
import type { KubeRig } from "../../src/devcluster/control-plane.js";
import { rigBinaries } from "../../src/devcluster/control-plane.js";
import { freePorts } from "../support/ports.js";
import { waitFor } from "../support/wait.js";
import type { Healthz } from "./operator-harness.js";
import { fetchHealthz, OperatorProcess, startOperatorRig } from "./operator-harness.js";

// The operator's informers against a real control plane: PodMonitors are watched once the
// Prometheus operator's CRD is served (a minimal copy of it is installed here), and
// /healthz reports informers that cannot sync.

const NS = "kvr-informers";
const NAME = "watched";
/** The Prometheus operator's PodMonitor kind, reduced to what the API server needs to serve it. */
const POD_MONITOR_CRD = {
  apiVersion: "apiextensions.k8s.io/v1", kind: "CustomResourceDefinition",
  metadata: { name: "podmonitors.monitoring.coreos.com" },
  spec: {
    group: "monitoring.coreos.com", scope: "Namespaced",
    names: { kind: "PodMonitor", listKind: "PodMonitorList", plural: "podmonitors", singular: "podmonitor" },
    versions: [{ name: "v1", served: true, storage: true, schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } } }],
  },
};
/** Far longer than any wait below: a change the operator reacts to within them came through a watch, not the resync. */
const RESYNC_SECONDS = 600;
/** Short bounds, so a test sees the 503 in seconds (the defaults are a minute or more). */
const SHORT_HEALTH_BOUNDS = { syncMsMax: 2_000, failingMsMax: 2_000 };

interface ClusterJson { metadata: { uid: string; generation: number }; status?: ClusterStatus }
interface ObjectJson { metadata: { uid: string } }

describe("kvraft operator informers on a real control plane", () => {
  let rig: KubeRig;
  const processes: OperatorProcess[] = [];
  const inProcess: RunningOperator[] = [];

  /** The operator in this process, with short health bounds, as `kubeconfig` allows, watching `namespace`. */
  const startInProcess = async (kubeconfigPath: string, namespace: string): Promise<RunningOperator> => {
    const operator = await startOperator({
      kubeconfigPath, namespace, metrics: { host: "127.0.0.1", port: 0 },
      adminDeadlineMs: 1_000, clusterDomain: "cluster.local", self: { namespace, podLabels: {} },
      resyncMs: RESYNC_SECONDS * 1_000, informerHealth: SHORT_HEALTH_BOUNDS,
      log: pino({ level: "silent" }), onLostLeadership: () => undefined,
    });
    inProcess.push(operator);
    return operator;
  };
  /** /healthz once it answers `status` (the answer itself is returned for its reason). */
  const healthzBecomes = (metricsPort: number, status: number): Promise<Healthz> =>
    waitFor(`/healthz to answer ${status}`, async () => {
      const answer = await fetchHealthz(metricsPort);
      return answer.status === status ? answer : undefined;
    }, 30_000, 200);

  beforeAll(async () => {
    await rigBinaries();
  }, 90 * 60_000);

  beforeAll(async () => {
    rig = await startOperatorRig(NS, [POD_MONITOR_CRD]);
  }, 300_000);

  afterEach(async () => {
    await Promise.all([...processes.map((o) => o.stop()), ...inProcess.map((o) => o.stop())]);
    processes.length = 0;
    inProcess.length = 0;
  }, 60_000);

  afterAll(async () => {
    await rig?.stop();
  }, 60_000);

  it("a PodMonitor deleted by hand is re-created at once (its informer requeues the cluster); /healthz answers 200", async () => {
    await rig.apply({
      apiVersion: "kvraft.io/v1alpha1", kind: "KVRaftCluster", metadata: { name: NAME, namespace: NS },
      spec: {
        replicas: 1, image: "registry.invalid/kvraft:test", storage: { size: "1Gi" },
        monitoring: { podMonitor: true, podMonitorLabels: { release: "kube-prometheus-stack" } },
      },
    });
    const cluster = (): Promise<ClusterJson> => rig.getJson<ClusterJson>(["get", "kvr", NAME, "-n", NS, "-o", "json"]);
    const double = await AdminDouble.start({ clusterId: (await cluster()).metadata.uid, voters: [1] });
    try {
      const operator = await OperatorProcess.start({
        kubeconfig: rig.kubeconfig, namespace: NS, adminEndpoint: double.url, extraArgs: ["--resync-seconds", String(RESYNC_SECONDS)],
      });
      processes.push(operator);
      await operator.ready();
      const monitor = objectNames(NAME).podMonitor;
      const uidOf = async (): Promise<string | undefined> => {
        const got = await rig.kubectl(["get", "podmonitor", monitor, "-n", NS, "-o", "json"]);
        return got.code === 0 ? (JSON.parse(got.stdout) as ObjectJson).metadata.uid : undefined;
      };
      // Settled, the cluster is looked at again only after 30 s (REQUEUE_MS.settled) or the resync: longer than the wait below.
      await waitFor("the cluster Running, its PodMonitor made", async () => {
        const c = await cluster();
        return c.status?.phase === "Running" && c.status.observedGeneration === c.metadata.generation && (await uidOf()) !== undefined || undefined;
      }, 120_000, 500).catch((error: unknown) => {
        throw new Error(`${(error as Error).message}\noperator log:\n${operator.tail()}`);
      });
      expect(await operator.healthz()).toEqual({ status: 200, text: "ok" });
      // The servers' and the coordinator's, both found by the label kube-prometheus-stack's podMonitorSelector asks for.
      const selected = await rig.kubectlOk(["get", "podmonitor", "-n", NS, "-l", "release=kube-prometheus-stack", "-o", "jsonpath={.items[*].metadata.name}"]);
      expect(selected.trim().split(" ").sort()).toEqual([monitor, objectNames(NAME).coordinatorPodMonitor].sort());

      const first = await uidOf();
      await rig.kubectlOk(["delete", "podmonitor", monitor, "-n", NS, "--wait=true"]);
      const second = await waitFor("the PodMonitor re-created", async () => {
        const uid = await uidOf();
        return uid !== undefined && uid !== first ? uid : undefined;
      }, 15_000, 100).catch((error: unknown) => {
        throw new Error(`${(error as Error).message}\noperator log:\n${operator.tail()}`);
      });
      expect(second).not.toBe(first);
      // Two made (servers, coordinator), one made again.
      expect(await operator.metric("kvraft_operator_api_writes_total", { kind: "PodMonitor" })).toBe(3);
      expect(await operator.healthz()).toEqual({ status: 200, text: "ok" });
    } finally {
      await double.stop();
    }
  }, 240_000);

  it("/healthz stays 200 past the sync bound once every informer synced", async () => {
    const operator = await startInProcess(rig.kubeconfig, NS);
    await healthzBecomes(operator.metricsPort, 200);
    // Observed over a window longer than both bounds: never a 503 meanwhile.
    const until = Date.now() + 2 * SHORT_HEALTH_BOUNDS.syncMsMax;
    await waitFor("a window longer than the health bounds", async () => {
      const answer = await fetchHealthz(operator.metricsPort);
      expect(answer).toEqual({ status: 200, text: "ok" });
      return Date.now() > until || undefined;
    }, 30_000, 200);
  }, 60_000);

  it("/healthz answers 503 with the reason when the API server does not answer", async () => {
    const [deadPort] = await freePorts(1) as [number];
    const deadConfig = join(rig.dir, "dead-apiserver.kubeconfig");
    writeFileSync(deadConfig, readFileSync(rig.kubeconfig, "utf8").replaceAll(rig.server, `https://127.0.0.1:${deadPort}`), { mode: 0o600 });
    const operator = await startInProcess(deadConfig, NS);
    const answer = await healthzBecomes(operator.metricsPort, 503);
    expect(answer.text).toMatch(/^unhealthy: the \S+ informer has not synced \d+ s after it started \(last error: .*ECONNREFUSED.*\)$/);
  }, 60_000);

  it("/healthz answers 503 when RBAC lets the operator list but not watch, and 200 once the restarted watches are allowed", async () => {
    const ns = "kvr-no-watch";
    const role = (verbs: readonly string[]): object => ({
      apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata: { name: "list-only", namespace: ns },
      rules: [{ apiGroups: ["*"], resources: ["*"], verbs }],
    });
    await rig.kubectlOk(["create", "namespace", ns]);
    await rig.kubectlOk(["create", "serviceaccount", "lister", "-n", ns]);
    await rig.apply(role(["get", "list"]));
    await rig.kubectlOk(["create", "rolebinding", "lister-lists", "-n", ns, "--role=list-only", `--serviceaccount=${ns}:lister`]);
    const asLister = await rig.serviceAccountKubeconfig(ns, "lister");
    // The authorizer reads RBAC from an informer: a grant takes effect shortly after it is written.
    await waitFor("the RoleBinding to take effect", async () =>
      (await rig.kubectl(["get", "statefulsets", "-n", ns], { kubeconfig: asLister })).code === 0 || undefined, 30_000, 200);
    const operator = await startInProcess(asLister, ns);
    const answer = await healthzBecomes(operator.metricsPort, 503);
    expect(answer.text).toMatch(/^unhealthy: the \S+ informer has not synced \d+ s after it started \(last error: HTTP 403 Forbidden\)$/);
    // The informers keep retrying with backoff (at most 30 s apart); once a watch is allowed, each connects.
    await rig.apply(role(["get", "list", "watch"]));
    await waitFor("/healthz to answer 200 once watching is allowed", async () => (await fetchHealthz(operator.metricsPort)).status === 200 || undefined, 60_000, 200);
  }, 120_000);
});
