/**
 * The operator's Helm chart, through the real helm (built from helm.sh/helm/v3):
 * lint clean, renders with defaults and with every option on, and renders what the
 * operator needs: its Deployment, least-privilege RBAC for exactly the kinds it works
 * on, the CRD (a copy of crds/ kept identical), the dashboard, the PodMonitor.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { beforeAll, describe, expect, it } from "vitest";
import { desiredObjects, HTTP_CLIENT_LABEL, objectNames, PORTS } from "../../src/operator/desired/index.js";
import { RUN_AS_ID } from "../../src/operator/desired/server-pod.js";
import { OWNED_TYPES } from "../../src/operator/controller/informers.js";
import { BACKUP_TYPE, CLUSTER_TYPE, JOB_TYPE, resourceTypeOf, SCHEDULED_BACKUP_TYPE } from "../../src/operator/controller/resources.js";
import type { KubeObject } from "../../src/operator/types.js";
import { FAKE_TLS } from "../operator/fixtures.js";
import {
  ALL_FEATURES, byKind, CHART_DIR, HELM_BUILD_TIMEOUT_MS, helm, NAMESPACE, onlyOne, RELEASE, renderChart, renderNotes, REPO_ROOT,
} from "./chart-render.js";

interface PolicyRule { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] }
interface Container {
  name: string; image: string; args: string[];
  ports: { name: string; containerPort: number }[];
  livenessProbe?: { httpGet: { path: string; port: string } };
  readinessProbe?: { httpGet: { path: string; port: string } };
  resources?: { limits?: Record<string, string> };
  securityContext?: Record<string, unknown>;
}
interface PodSpec { serviceAccountName: string; securityContext: Record<string, unknown>; containers: Container[] }

const field = <T>(object: KubeObject | undefined, key: string): T => (object as unknown as Record<string, T>)[key] as T;
const rulesOf = (role: KubeObject): PolicyRule[] => field<PolicyRule[]>(role, "rules");
const podSpec = (deployment: KubeObject): PodSpec => field<{ template: { spec: PodSpec } }>(deployment, "spec").template.spec;
const groupOf = (apiVersion: string): string => (apiVersion.includes("/") ? apiVersion.slice(0, apiVersion.indexOf("/")) : "");

/** The verbs the rules grant on one resource (any name). */
function grantedVerbs(rules: readonly PolicyRule[], group: string, resource: string): Set<string> {
  const verbs = new Set<string>();
  for (const rule of rules) {
    if (rule.apiGroups.includes(group) && rule.resources.includes(resource) && rule.resourceNames === undefined) rule.verbs.forEach((v) => verbs.add(v));
  }
  return verbs;
}

/** The operator's main role: a ClusterRole, or with operator.watchNamespace a Role in that namespace. */
function mainRole(objects: readonly KubeObject[]): KubeObject {
  const role = [...byKind(objects, "ClusterRole"), ...byKind(objects, "Role")].find((r) => r.metadata.name === `${RELEASE}-kvraft-operator`);
  if (role === undefined) throw new Error("the chart rendered no role for the operator");
  return role;
}

describe("the kvraft-operator Helm chart", () => {
  beforeAll(async () => {
    const version = await helm(["version", "--short"]);
    expect(version.stdout).toMatch(/^v3\./);
  }, HELM_BUILD_TIMEOUT_MS);

  it("passes helm lint --strict with defaults and with every option on", async () => {
    for (const sets of [[], ALL_FEATURES]) {
      const result = await helm(["lint", "--strict", CHART_DIR, ...sets.flatMap((s) => ["--set", s])]);
      expect(result.code, result.stdout + result.stderr).toBe(0);
      expect(result.stdout).toContain("1 chart(s) linted, 0 chart(s) failed");
      expect(result.stdout).not.toMatch(/\[(WARNING|ERROR)\]/);
    }
  });

  it("renders the operator with defaults: two leader-elected replicas, non-root, probed, with resources", async () => {
    const objects = await renderChart();
    expect(new Set(objects.map((o) => o.kind))).toEqual(new Set(["ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "Deployment", "PodDisruptionBudget"]));
    const deployment = onlyOne(objects, "Deployment");
    expect(field<{ replicas: number }>(deployment, "spec").replicas).toBe(2);
    const pod = podSpec(deployment);
    expect(pod.serviceAccountName).toBe(onlyOne(objects, "ServiceAccount").metadata.name);
    // The image's user (Dockerfile USER) and the operator's server pods run as the same id.
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: RUN_AS_ID });
    expect(pod.containers).toHaveLength(1);
    const container = pod.containers[0] as Container;
    const appVersion = (parse(readFileSync(join(CHART_DIR, "Chart.yaml"), "utf8")) as { appVersion: string }).appVersion;
    expect(container.image).toBe(`kvraft:${appVersion}`);
    expect(container.args.slice(0, 2)).toEqual(["operator", "--leader-elect"]);
    expect(container.args).not.toContain("--namespace");
    expect(container.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } });
    expect(container.resources?.limits?.["memory"]).toBeDefined();
    const metricsPort = container.ports.find((p) => p.name === "metrics");
    expect(container.args).toContain(`--metrics-port=${metricsPort?.containerPort ?? "missing"}`);
    // The NetworkPolicy of each cluster admits the operator's pods by the labels it is told.
    const labelFlag = container.args.find((a) => a.startsWith("--operator-pod-labels="))?.slice("--operator-pod-labels=".length) ?? "";
    const told = Object.fromEntries(labelFlag.split(",").map((pair) => pair.split("=", 2)));
    expect(Object.keys(told).length).toBeGreaterThanOrEqual(2);
    const podLabels = field<{ template: { metadata: { labels: Record<string, string> } } }>(deployment, "spec").template.metadata.labels;
    expect(podLabels).toMatchObject(told);
    // As the operator's own default: the namespace spec.monitoring falls back to is the same with or without the chart.
    expect(container.args).toContain("--monitoring-namespace=monitoring");
    expect(container.livenessProbe?.httpGet).toEqual({ path: "/healthz", port: "metrics" });
    expect(container.readinessProbe?.httpGet).toEqual({ path: "/healthz", port: "metrics" });
    for (const object of objects) {
      expect(object.metadata.labels?.["app.kubernetes.io/managed-by"], `${object.kind}/${object.metadata.name}`).toBe("Helm");
    }
  });

  it("renders every optional feature: PodMonitor on the metrics port, the dashboard ConfigMap, one watched namespace", async () => {
    const objects = await renderChart(ALL_FEATURES);
    const deployment = onlyOne(objects, "Deployment");
    const container = podSpec(deployment).containers[0] as Container;
    expect(container.args).toContain("--namespace=apps");
    for (const role of byKind(objects, "Role")) {
      for (const rule of rulesOf(role)) expect([...rule.apiGroups, ...rule.resources, ...rule.verbs], "no wildcards").not.toContain("*");
    }

    const monitor = onlyOne(objects, "PodMonitor");
    const monitorSpec = field<{ selector: { matchLabels: Record<string, string> }; podMetricsEndpoints: { port: string }[] }>(monitor, "spec");
    const podLabels = field<{ template: { metadata: { labels: Record<string, string> } } }>(deployment, "spec").template.metadata.labels;
    expect(podLabels).toMatchObject(monitorSpec.selector.matchLabels);
    expect(monitorSpec.podMetricsEndpoints.map((e) => e.port)).toEqual(["metrics"]);
    expect(container.ports.map((p) => p.name)).toContain("metrics");
    // Placed where Prometheus looks, labelled for its podMonitorSelector, selecting the operator's pods in the release's namespace.
    expect(monitor.metadata.namespace).toBe("monitoring");
    expect(monitor.metadata.labels?.["release"]).toBe("kube-prometheus-stack");
    expect(field<{ namespaceSelector: unknown }>(monitor, "spec").namespaceSelector).toEqual({ matchNames: [NAMESPACE] });
    // The operator lets that Prometheus scrape every cluster whose spec.monitoring names no namespace.
    expect(container.args).toContain("--monitoring-namespace=observability");

    const dashboard = onlyOne(objects, "ConfigMap");
    expect(dashboard.metadata.namespace).toBe("monitoring");
    expect(dashboard.metadata.labels?.["grafana_dashboard"]).toBe("1");
    const json = field<Record<string, string>>(dashboard, "data")["kvraft.json"] ?? "";
    expect(JSON.parse(json)).toEqual(JSON.parse(readFileSync(join(REPO_ROOT, "dashboards", "kvraft.json"), "utf8")));

    // One watched namespace: the operator's role is there and bound there only, not cluster-wide.
    const bindings = [...byKind(objects, "RoleBinding"), ...byKind(objects, "ClusterRoleBinding")];
    const main = mainRole(objects);
    expect(`${main.kind}/${main.metadata.namespace ?? ""}`).toBe("Role/apps");
    const mainBindings = bindings.filter((b) => field<{ name: string }>(b, "roleRef").name === main.metadata.name);
    expect(mainBindings.map((b) => `${b.kind}/${b.metadata.namespace ?? ""}`)).toEqual(["RoleBinding/apps"]);
  });

  it("refuses values its schema does not allow, naming the value", async () => {
    for (const [set, named] of [["replicaCount=0", "replicaCount"], ["image.pullPolicy=Sometimes", "pullPolicy"], ["operatr.leaseName=x", "operatr"], ["podMonitor.interval=often", "interval"],
      ["operator.monitoringNamespace=Not_A_Namespace", "monitoringNamespace"], ["podMonitor.labels.a/b/c=x", "a/b/c"], ["prometheusRule.labels.release=-x", "release"],
      ["podMonitor.namespace=Monitoring", "namespace"]] as const) {
      const result = await helm(["template", RELEASE, CHART_DIR, "--set", set]);
      expect(result.code, set).not.toBe(0);
      expect(result.stderr, set).toContain("values don't meet the specifications of the schema");
      expect(result.stderr, set).toContain(named);
    }
    const noAccount = await helm(["template", RELEASE, CHART_DIR, "--set", "serviceAccount.create=false"]);
    expect(noAccount.code).not.toBe(0);
    expect(noAccount.stderr).toContain("serviceAccount.name is required when serviceAccount.create is false");
    const existing = await renderChart(["serviceAccount.create=false", "serviceAccount.name=ops"]);
    expect(byKind(existing, "ServiceAccount")).toEqual([]);
    expect(podSpec(onlyOne(existing, "Deployment")).serviceAccountName).toBe("ops");
  });

  it("installs the CRDs from its crds/ folder, copies identical to the repository's crds/", async () => {
    for (const file of ["kvraftcluster.yaml", "kvraftbackup.yaml", "kvraftscheduledbackup.yaml"]) {
      const source = readFileSync(join(REPO_ROOT, "crds", file), "utf8");
      const copy = readFileSync(join(CHART_DIR, "crds", file), "utf8");
      expect(copy === source, `charts/kvraft-operator/crds/${file} differs from crds/${file}: run \`cp crds/${file} charts/kvraft-operator/crds/\``).toBe(true);
    }
    const crds = byKind(await renderChart([], ["--include-crds"]), "CustomResourceDefinition");
    expect(crds.map((c) => c.metadata.name).sort()).toEqual(["kvraftbackups.kvraft.io", "kvraftclusters.kvraft.io", "kvraftscheduledbackups.kvraft.io"]);
  });

  it("carries KVRaft's version (package.json) as its appVersion", () => {
    const chart = parse(readFileSync(join(CHART_DIR, "Chart.yaml"), "utf8")) as { appVersion: string };
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { version: string };
    expect(chart.appVersion).toBe(pkg.version);
  });

  it("grants the operator exactly the verbs it uses on the kinds it reads and makes (least privilege)", async () => {
    const objects = await renderChart();
    const granted = new Set<string>();
    for (const rule of rulesOf(mainRole(objects))) {
      expect([...rule.apiGroups, ...rule.resources, ...rule.verbs], "no wildcards").not.toContain("*");
      for (const group of rule.apiGroups) for (const resource of rule.resources) for (const verb of rule.verbs) granted.add(`${verb} ${group}/${resource}`);
    }
    const needed = new Set<string>();
    const need = (apiVersion: string, resource: string, verbs: readonly string[]): void => {
      for (const verb of verbs) needed.add(`${verb} ${groupOf(apiVersion)}/${resource}`);
    };
    // Informers list and watch the clusters and everything they own (and get from their cache's misses).
    for (const t of [CLUSTER_TYPE, ...OWNED_TYPES]) need(t.apiVersion, t.plural, ["get", "list", "watch"]);
    // No informer holds Secrets: the tokens' and the TLS ones are read by name (admin-token.ts, client-tokens.ts, cluster-tls.ts).
    expect(OWNED_TYPES.map((t) => t.kind)).not.toContain("Secret");
    need("v1", "secrets", ["get"]);
    need("networking.k8s.io/v1", "networkpolicies", ["delete"]); // when spec.networkPolicy.enabled turns false
    need("monitoring.coreos.com/v1", "podmonitors", ["delete"]); // when spec.monitoring.podMonitor turns false, or no coordinator runs
    need(CLUSTER_TYPE.apiVersion, `${CLUSTER_TYPE.plural}/status`, ["patch"]);
    // The recover-from-member annotation is taken away once its recovery is recorded (recovery-driver.ts).
    need(CLUSTER_TYPE.apiVersion, CLUSTER_TYPE.plural, ["patch"]);
    // Owner references block the owner's deletion, which needs update on its finalizers.
    need(CLUSTER_TYPE.apiVersion, `${CLUSTER_TYPE.plural}/finalizers`, ["update"]);
    // Server-side apply of each desired object: patch, and create the first time.
    const cluster = {
      apiVersion: "kvraft.io/v1alpha1", kind: "KVRaftCluster", metadata: { name: "c", namespace: "apps", uid: "u-1" },
      spec: { replicas: 3, image: "kvraft:0.1.0", storage: { size: "1Gi" }, coordinator: { replicas: 1 }, monitoring: { podMonitor: true } },
    };
    const desired = desiredObjects(cluster, {
      adminToken: "t", clientTokens: { readWrite: "read-write-token-0123", readOnly: "read-only-token-01234" }, tls: FAKE_TLS,
      operator: { namespace: NAMESPACE, podLabels: {} }, podMonitorAvailable: true,
    });
    expect(desired.map((o) => o.kind)).toContain("PodMonitor");
    for (const object of desired) need(object.apiVersion, resourceTypeOf(object.apiVersion, object.kind).plural, ["create", "patch"]);
    need("v1", "pods", ["delete"]); // a rolling update deletes one pod at a time
    need("v1", "persistentvolumeclaims", ["get", "list", "watch", "patch"]); // read to tell a lost volume; patched to grow storage (volumes.ts)
    // A cluster founded from a backup (bootstrap-gate.ts): its backup read by name, pod 0's
    // claim and the restore Job made by server-side apply before the StatefulSet.
    need(BACKUP_TYPE.apiVersion, BACKUP_TYPE.plural, ["get"]);
    need("v1", "persistentvolumeclaims", ["create"]);
    need("v1", "events", ["create", "patch"]); // repeats fold into a count
    // Backups (backup-reconciler.ts): listed each poll, their status applied; each one's Job
    // read by name and made by server-side apply (owned by the backup, which blocks its deletion).
    need(BACKUP_TYPE.apiVersion, BACKUP_TYPE.plural, ["list"]);
    need(BACKUP_TYPE.apiVersion, `${BACKUP_TYPE.plural}/status`, ["patch"]);
    need(BACKUP_TYPE.apiVersion, `${BACKUP_TYPE.plural}/finalizers`, ["update"]);
    need(JOB_TYPE.apiVersion, JOB_TYPE.plural, ["get", "create", "patch"]);
    // Scheduled backups (scheduled-backup-reconciler.ts): listed each poll, their status
    // applied; they make backups by server-side apply and prune them (a prune Job, listed
    // by label for failures, then a delete), owning both.
    need(SCHEDULED_BACKUP_TYPE.apiVersion, SCHEDULED_BACKUP_TYPE.plural, ["list"]);
    need(SCHEDULED_BACKUP_TYPE.apiVersion, `${SCHEDULED_BACKUP_TYPE.plural}/status`, ["patch"]);
    need(SCHEDULED_BACKUP_TYPE.apiVersion, `${SCHEDULED_BACKUP_TYPE.plural}/finalizers`, ["update"]);
    need(BACKUP_TYPE.apiVersion, BACKUP_TYPE.plural, ["create", "patch", "delete"]);
    need(JOB_TYPE.apiVersion, JOB_TYPE.plural, ["list"]);
    const missing = [...needed].filter((g) => !granted.has(g)).sort();
    const extra = [...granted].filter((g) => !needed.has(g)).sort();
    expect({ missing, extra }).toEqual({ missing: [], extra: [] });

    // Leader election: the one Lease, in the release's namespace.
    const leaseRole = onlyOne(objects, "Role"); // by default the main role is a ClusterRole
    expect(leaseRole.metadata.namespace).toBe(NAMESPACE);
    const leaseRules = rulesOf(leaseRole);
    expect(grantedVerbs(leaseRules, "coordination.k8s.io", "leases")).toEqual(new Set(["create"]));
    const named = leaseRules.find((r) => r.resourceNames !== undefined);
    expect(named?.resourceNames).toEqual(["kvraft-operator"]);
    expect(new Set(named?.verbs)).toEqual(new Set(["get", "update"]));
    // Every binding names the chart's ServiceAccount in the release's namespace.
    const account = onlyOne(objects, "ServiceAccount").metadata.name;
    for (const binding of [...byKind(objects, "RoleBinding"), ...byKind(objects, "ClusterRoleBinding")]) {
      expect(field<unknown[]>(binding, "subjects")).toEqual([{ kind: "ServiceAccount", name: account, namespace: NAMESPACE }]);
    }
  });

  it("NOTES tells the user how to create a cluster and use it", async () => {
    const notes = await renderNotes();
    expect(notes).toContain("kubectl apply -f examples/cluster.yaml");
    expect(existsSync(join(REPO_ROOT, "examples", "cluster.yaml"))).toBe(true);
    expect(notes).toContain("kind: KVRaftCluster");
    expect(notes).toContain("image: kvraft:");
    expect(notes).toContain("kubectl -n default get kvr example");
    // The names and ports the operator gives a cluster "example", and the label its NetworkPolicy admits.
    expect(notes).toContain(`port-forward svc/${objectNames("example").clientService} ${PORTS.http}:${PORTS.http}`);
    expect(notes).toContain(`--endpoints ${objectNames("example").clientService}:${PORTS.http}`);
    expect(notes).toContain(`--labels=${HTTP_CLIENT_LABEL}=true`);
    const withEverything = await renderNotes(ALL_FEATURES);
    expect(withEverything).toContain("namespace: apps");
    expect(withEverything).toContain("kubectl -n apps get kvr example");
    expect(withEverything).toContain("PodMonitor");
    expect(withEverything).toContain("Grafana");
    expect(withEverything).toContain("PrometheusRule");
  });
});
