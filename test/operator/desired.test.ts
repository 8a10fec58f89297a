import { Command, type Option } from "commander";
import { describe, expect, it } from "vitest";
import { registerCoordCommand } from "../../src/cli/coord-command.js";
import { registerServerCommand } from "../../src/cli/server-command.js";
import { desiredObjects, type DesiredOptions } from "../../src/operator/desired/index.js";
import type { KubeObject, KVRaftCluster } from "../../src/operator/types.js";
import { makeCluster, OPTIONS } from "./fixtures.js";

interface EnvVar { name: string; value?: string; valueFrom?: Record<string, Record<string, unknown>> }
interface Container { name: string; args: string[]; env: EnvVar[]; resources: Record<string, unknown>; readinessProbe: { httpGet: { path: string } }; livenessProbe: { httpGet: { path: string } } }
interface PodSpec { containers: Container[]; terminationGracePeriodSeconds: number; affinity: Record<string, unknown>; [k: string]: unknown }
interface Template { metadata: { labels: Record<string, string> }; spec: PodSpec }

const find = (objects: KubeObject[], kind: string, name?: string): KubeObject & Record<string, unknown> => {
  const object = objects.find((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (object === undefined) throw new Error(`no ${kind} ${name ?? ""} among ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(", ")}`);
  return object;
};
const specOf = <T>(object: KubeObject): T => (object as unknown as { spec: T }).spec;
const statefulSet = (objects: KubeObject[]) => specOf<{ replicas: number; podManagementPolicy: string; serviceName: string; updateStrategy: { type: string }; persistentVolumeClaimRetentionPolicy: Record<string, string>; template: Template; volumeClaimTemplates: { spec: Record<string, unknown> }[] }>(find(objects, "StatefulSet"));
const serverContainer = (objects: KubeObject[]): Container => statefulSet(objects).template.spec.containers[0] as Container;
const env = (container: Container, name: string): EnvVar | undefined => container.env.find((e) => e.name === name);
const serverIngress = (objects: KubeObject[]) =>
  specOf<{ ingress: { from?: Record<string, unknown>[]; ports: { port: number }[] }[] }>(find(objects, "NetworkPolicy", "kv")).ingress;
const MEMBERS = { "app.kubernetes.io/name": "kvraft", "app.kubernetes.io/instance": "kv", "app.kubernetes.io/component": "server" };
const configData = (objects: KubeObject[]) => (find(objects, "ConfigMap") as unknown as { data: Record<string, string> }).data;

describe("desired manifests", () => {
  const cluster = makeCluster();
  const objects = desiredObjects(cluster, OPTIONS);

  it("makes every object the issue lists, each owned by the CR and carrying the common labels", () => {
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      "ConfigMap/kv-ca", "ConfigMap/kv-config", "Deployment/kv-coord", "NetworkPolicy/kv", "NetworkPolicy/kv-coord", "PodDisruptionBudget/kv", "Secret/kv-admin-token",
      "Secret/kv-client-tokens", "Secret/kv-tls-ca", "Secret/kv-tls-coord", "Secret/kv-tls-members", "Service/kv-client", "Service/kv-coord", "Service/kv-peer", "ServiceAccount/kv", "StatefulSet/kv",
    ]);
    for (const object of objects) {
      expect(object.metadata.namespace, object.metadata.name).toBe("db");
      expect(object.metadata.ownerReferences).toEqual([{ apiVersion: "kvraft.io/v1alpha1", kind: "KVRaftCluster", name: "kv", uid: cluster.metadata.uid, controller: true, blockOwnerDeletion: true }]);
      expect(object.metadata.labels).toMatchObject({ "app.kubernetes.io/name": "kvraft", "app.kubernetes.io/instance": "kv", "app.kubernetes.io/managed-by": "kvraft-operator" });
      expect(object.metadata.labels?.["app.kubernetes.io/component"]).toBeTruthy();
    }
  });

  it("is a pure function: the same inputs give the same manifests", () => {
    expect(desiredObjects(makeCluster(), OPTIONS)).toEqual(objects);
  });

  it("founds the cluster with `new` from the first configuration, and flips to `existing` once formed without touching the pod template", () => {
    expect(configData(objects)).toEqual({
      "initial-cluster-state": "new",
      peers: "1=kv-0.kv-peer.db.svc.cluster.local:7000,2=kv-1.kv-peer.db.svc.cluster.local:7000,3=kv-2.kv-peer.db.svc.cluster.local:7000",
    });
    const formed = desiredObjects(makeCluster({}, { formed: true }), OPTIONS);
    expect(configData(formed)["initial-cluster-state"]).toBe("existing");
    // Read from the ConfigMap at start: flipping it restarts no pod.
    expect(statefulSet(formed).template).toEqual(statefulSet(objects).template);
    expect(env(serverContainer(objects), "KVRAFT_INITIAL_CLUSTER_STATE")?.valueFrom).toEqual({ configMapKeyRef: { name: "kv-config", key: "initial-cluster-state" } });
  });

  it("lists every member the cluster is growing to once formed, but exactly the founders before", () => {
    const growing = desiredObjects(makeCluster({ replicas: 5 }, { formed: true }), { ...OPTIONS, serverReplicas: 3 });
    expect(configData(growing)["peers"]?.split(",")).toHaveLength(5);
    const earlyChange = desiredObjects(makeCluster({ replicas: 5 }), { ...OPTIONS, foundingMembers: 3 });
    expect(configData(earlyChange)["peers"]?.split(",")).toHaveLength(3);
  });

  it("runs the servers as a Parallel StatefulSet the planner sizes and restarts (OnDelete), with the cluster id the CR's uid", () => {
    const sts = statefulSet(objects);
    expect(sts).toMatchObject({ replicas: 3, podManagementPolicy: "Parallel", serviceName: "kv-peer", updateStrategy: { type: "OnDelete" } });
    expect(statefulSet(desiredObjects(makeCluster({ replicas: 5 }, { formed: true }), { ...OPTIONS, serverReplicas: 4 })).replicas).toBe(4);
    expect(env(serverContainer(objects), "KVRAFT_CLUSTER_ID")?.value).toBe(cluster.metadata.uid);
  });

  it("gives each pod its name and namespace from the downward API (the member id comes from the pod name)", () => {
    const container = serverContainer(objects);
    expect(env(container, "POD_NAME")?.valueFrom).toEqual({ fieldRef: { fieldPath: "metadata.name" } });
    expect(env(container, "POD_NAMESPACE")?.valueFrom).toEqual({ fieldRef: { fieldPath: "metadata.namespace" } });
    expect(env(container, "KVRAFT_ID")).toBeUndefined();
    expect(env(container, "KVRAFT_ADVERTISE_PEER")?.value).toBe("$(POD_NAME).kv-peer.$(POD_NAMESPACE).svc.cluster.local:7000");
  });

  it("derives the Node heap limit from the container's memory limit", () => {
    const limited = desiredObjects(makeCluster({ resources: { limits: { memory: "2Gi" } } }), OPTIONS);
    const container = serverContainer(limited);
    expect(container.resources).toEqual({ limits: { memory: "2Gi" } });
    expect(env(container, "KVRAFT_MEMORY_MIB")?.valueFrom).toEqual({ resourceFieldRef: { containerName: "server", resource: "limits.memory", divisor: "1Mi" } });
  });

  it("probes /healthz and /readyz, and gives a leader time to hand over before it is killed", () => {
    const container = serverContainer(objects);
    expect(container.readinessProbe.httpGet.path).toBe("/readyz");
    expect(container.livenessProbe.httpGet.path).toBe("/healthz");
    const transferMs = Number(env(container, "KVRAFT_SHUTDOWN_TRANSFER_MS")?.value);
    expect(statefulSet(objects).template.spec.terminationGracePeriodSeconds * 1000).toBeGreaterThan(transferMs + 5000);
    const slow = desiredObjects(makeCluster({ raft: { heartbeatMs: 1000, electionMs: 10_000 } }), OPTIONS);
    expect(statefulSet(slow).template.spec.terminationGracePeriodSeconds).toBeGreaterThan(30);
  });

  it("follows the PVC retention policy (Retain by default) and the storage settings", () => {
    expect(statefulSet(objects).persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: "Retain", whenScaled: "Retain" });
    const deleting = desiredObjects(makeCluster({ pvcRetention: { whenDeleted: "Delete" }, storage: { size: "5Gi", storageClassName: "fast" } }), OPTIONS);
    expect(statefulSet(deleting).persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: "Delete", whenScaled: "Retain" });
    expect(statefulSet(deleting).volumeClaimTemplates[0]?.spec).toEqual({ accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "5Gi" } }, storageClassName: "fast" });
    const full = { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "9Gi" } }, volumeMode: "Filesystem" };
    expect(statefulSet(desiredObjects(makeCluster({ storage: { size: "1Gi", volumeClaimTemplate: full } }), OPTIONS)).volumeClaimTemplates[0]?.spec).toEqual(full);
  });

  it("keeps the live StatefulSet's volume claim templates, which cannot change once it exists", () => {
    const live = [{ metadata: { name: "data" }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } } }];
    const grown = desiredObjects(makeCluster({ storage: { size: "2Gi" } }), { ...OPTIONS, liveVolumeClaimTemplates: live });
    expect(statefulSet(grown).volumeClaimTemplates).toEqual(live);
  });

  it("prefers spreading servers across nodes unless the spec gives its own affinity", () => {
    expect(JSON.stringify(statefulSet(objects).template.spec.affinity)).toContain("kubernetes.io/hostname");
    const own = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [] } } };
    expect(statefulSet(desiredObjects(makeCluster({ affinity: own }), OPTIONS)).template.spec.affinity).toEqual(own);
  });

  it("keeps the selector's labels even when podLabels name them", () => {
    const sneaky = desiredObjects(makeCluster({ podLabels: { "app.kubernetes.io/instance": "other", team: "a" } }), OPTIONS);
    expect(statefulSet(sneaky).template.metadata.labels).toMatchObject({ "app.kubernetes.io/instance": "kv", team: "a" });
  });

  it("publishes not-ready peers on the headless Service and uses the asked-for type for clients", () => {
    expect(specOf(find(objects, "Service", "kv-peer"))).toMatchObject({ clusterIP: "None", publishNotReadyAddresses: true });
    expect(specOf(find(objects, "Service", "kv-client"))).toMatchObject({ type: "ClusterIP" });
    const lb = desiredObjects(makeCluster({ service: { type: "LoadBalancer" } }), OPTIONS);
    expect(specOf(find(lb, "Service", "kv-client"))).toMatchObject({ type: "LoadBalancer" });
  });

  it("lets at most one server be voluntarily disrupted", () => {
    expect(specOf(find(objects, "PodDisruptionBudget"))).toMatchObject({ maxUnavailable: 1, selector: { matchLabels: { "app.kubernetes.io/component": "server" } } });
  });

  it("lets only members reach the peer port, only members, the operator and backup Jobs the admin port, and not the operator the HTTP port", () => {
    const ingress = serverIngress(objects);
    const peer = ingress.filter((rule) => rule.ports.some((p) => p.port === 7000));
    expect(peer).toHaveLength(1);
    expect(peer[0]?.from).toEqual([{ podSelector: { matchLabels: { "app.kubernetes.io/name": "kvraft", "app.kubernetes.io/instance": "kv", "app.kubernetes.io/component": "server" } } }]);
    const members = peer[0]?.from?.[0];
    const operator = { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kvraft-system" } }, podSelector: { matchLabels: OPTIONS.operator.podLabels } };
    const admin = ingress.filter((rule) => rule.ports.some((p) => p.port === 8081));
    expect(admin).toHaveLength(1);
    const backupJobs = { podSelector: { matchLabels: { "app.kubernetes.io/name": "kvraft", "app.kubernetes.io/instance": "kv", "app.kubernetes.io/component": "backup" } } };
    expect(admin[0]?.from).toEqual([members, operator, backupJobs]);
    expect(env(serverContainer(objects), "KVRAFT_ADMIN_PORT")?.value).toBe("8081");
    const http = ingress.find((rule) => rule.ports.some((p) => p.port === 8080));
    expect(http?.from).not.toContainEqual(operator);
    expect(http?.from?.every((peerRule) => peerRule["podSelector"] !== undefined || peerRule["namespaceSelector"] !== undefined)).toBe(true);
    // Every port of the server container is covered by a rule that names its sources: none is open to all.
    const covered = ingress.flatMap((rule) => rule.ports.map((p) => p.port)).sort((a, b) => a - b);
    expect(covered).toEqual([7000, 7100, 8080, 8081, 11211]);
    for (const rule of ingress) expect(rule.from?.length, JSON.stringify(rule.ports)).toBeGreaterThan(0);
  });

  it("by default admits clients to the client ports and the coordinator from the cluster's own namespace only", () => {
    const sameNamespace = { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "db" } }, podSelector: { matchLabels: {} } };
    const ingress = serverIngress(objects);
    for (const port of [7100, 11211, 8080]) {
      const rule = ingress.find((r) => r.ports.some((p) => p.port === port));
      expect(rule?.from, `port ${port}`).toContainEqual(sameNamespace);
      expect(rule?.from, `port ${port}`).toContainEqual({ podSelector: { matchLabels: MEMBERS } });
      for (const peerRule of rule?.from ?? []) {
        // Every source is the cluster's own namespace (by name or implied by a bare podSelector), never every namespace.
        const namespace = (peerRule["namespaceSelector"] as { matchLabels?: Record<string, string> } | undefined)?.matchLabels?.["kubernetes.io/metadata.name"];
        expect(peerRule["namespaceSelector"] === undefined || namespace === "db", JSON.stringify(peerRule)).toBe(true);
      }
    }
    const coord = find(objects, "NetworkPolicy", "kv-coord");
    expect(specOf(coord)).toEqual({
      podSelector: { matchLabels: { "app.kubernetes.io/name": "kvraft", "app.kubernetes.io/instance": "kv", "app.kubernetes.io/component": "coordinator" } },
      policyTypes: ["Ingress"],
      ingress: [{ from: [{ podSelector: { matchLabels: MEMBERS } }, sameNamespace], ports: [{ protocol: "TCP", port: 7070 }] }],
    });
    // The coordinator's policy selects the Deployment's pods.
    const coordPods = specOf<{ template: Template }>(find(objects, "Deployment", "kv-coord")).template.metadata.labels;
    expect(coordPods).toMatchObject(specOf<{ podSelector: { matchLabels: Record<string, string> } }>(coord).podSelector.matchLabels);
  });

  it("admits the namespaces and pod labels spec.networkPolicy names, and never widens the peer and admin ports", () => {
    const configured = desiredObjects(makeCluster({
      networkPolicy: { allowedNamespaces: [{ name: "apps" }, { matchLabels: { team: "storage" } }], allowedPodLabels: { role: "kv-client" } },
    }), OPTIONS);
    const apps = { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "apps" } }, podSelector: { matchLabels: { role: "kv-client" } } };
    const team = { namespaceSelector: { matchLabels: { team: "storage" } }, podSelector: { matchLabels: { role: "kv-client" } } };
    const ingress = serverIngress(configured);
    const clientRule = ingress.find((r) => r.ports.some((p) => p.port === 7100));
    expect(clientRule?.ports.map((p) => p.port)).toEqual([7100, 11211]);
    expect(clientRule?.from).toEqual([{ podSelector: { matchLabels: MEMBERS } }, apps, team]);
    expect(ingress.find((r) => r.ports.some((p) => p.port === 8080))?.from).toEqual(expect.arrayContaining([apps, team]));
    const coordFrom = specOf<{ ingress: { from: unknown[] }[] }>(find(configured, "NetworkPolicy", "kv-coord")).ingress[0]?.from;
    expect(coordFrom).toEqual([{ podSelector: { matchLabels: MEMBERS } }, apps, team]);
    expect(ingress.find((r) => r.ports.some((p) => p.port === 7000))).toEqual(serverIngress(objects).find((r) => r.ports.some((p) => p.port === 7000)));
    expect(ingress.find((r) => r.ports.some((p) => p.port === 8081))).toEqual(serverIngress(objects).find((r) => r.ports.some((p) => p.port === 8081)));
  });

  it("makes no NetworkPolicy when spec.networkPolicy.enabled is false", () => {
    const off = desiredObjects(makeCluster({ networkPolicy: { enabled: false } }), OPTIONS);
    expect(off.filter((o) => o.kind === "NetworkPolicy")).toEqual([]);
    expect(desiredObjects(makeCluster({ networkPolicy: { enabled: true } }), OPTIONS).filter((o) => o.kind === "NetworkPolicy")).toHaveLength(2);
  });

  it("has the servers and the coordinator listen on every interface of the pod, not the loopback default", () => {
    expect(env(serverContainer(objects), "KVRAFT_LISTEN_HOST")?.value).toBe("0.0.0.0");
    const coordinator = specOf<{ template: Template }>(find(objects, "Deployment", "kv-coord")).template.spec.containers[0] as Container;
    expect(coordinator.args[0]).toBe("coord");
    expect(env(coordinator, "KVRAFT_COORD_HOST")?.value).toBe("0.0.0.0");
  });

  it("keeps the admin token in a Secret mounted as a file, never in the pod spec", () => {
    const secret = find(objects, "Secret") as unknown as { data: Record<string, string> };
    expect(Buffer.from(secret.data["token"] ?? "", "base64").toString()).toBe("s3cret-token");
    expect(JSON.stringify(statefulSet(objects).template)).not.toContain("s3cret-token");
    expect(env(serverContainer(objects), "KVRAFT_ADMIN_TOKEN_FILE")?.value).toBe("/etc/kvraft/admin/token");
    expect(() => desiredObjects(cluster, { ...OPTIONS, adminToken: " " })).toThrow(/admin token is empty/);
  });

  it("makes a PodMonitor only when asked for and the Prometheus operator's CRD is there", () => {
    const asked = makeCluster({ monitoring: { podMonitor: true } });
    expect(desiredObjects(asked, OPTIONS).some((o) => o.kind === "PodMonitor")).toBe(false);
    const withCrd: DesiredOptions = { ...OPTIONS, podMonitorAvailable: true };
    expect(find(desiredObjects(asked, withCrd), "PodMonitor").apiVersion).toBe("monitoring.coreos.com/v1");
    expect(desiredObjects(makeCluster(), withCrd).some((o) => o.kind === "PodMonitor")).toBe(false);
  });

  it("runs no coordinator when asked for none, and then the servers register with none", () => {
    const none = desiredObjects(makeCluster({ coordinator: { replicas: 0 } }), OPTIONS);
    // Only its NetworkPolicy is made still (it selects no pod then), so a coordinator left running is never left open.
    expect(none.filter((o) => o.metadata.name === "kv-coord").map((o) => o.kind)).toEqual(["NetworkPolicy"]);
    expect(env(serverContainer(none), "KVRAFT_COORD")).toBeUndefined();
    expect(env(serverContainer(objects), "KVRAFT_COORD")?.value).toBe("https://kv-coord.$(POD_NAMESPACE).svc.cluster.local:7070");
  });

  it("refuses a CR without a uid, saying why", () => {
    const local: KVRaftCluster = { ...cluster, metadata: { name: "kv", namespace: "db" } };
    expect(() => desiredObjects(local, OPTIONS)).toThrow(/no metadata.uid/);
  });

  it("runs only verbs and environment variables the CLI has (server and coord)", () => {
    const program = new Command();
    registerServerCommand(program);
    registerCoordCommand(program);
    const known = new Map(program.commands.map((c) => [c.name(), new Set(c.options.map((o: Option) => o.envVar).filter((e): e is string => e !== undefined))]));
    const full = desiredObjects(makeCluster({ resources: { limits: { memory: "1Gi" } } }), OPTIONS);
    const templates = full.filter((o) => o.kind === "StatefulSet" || o.kind === "Deployment").map((o) => specOf<{ template: Template }>(o).template);
    expect(templates).toHaveLength(2);
    for (const template of templates) {
      for (const container of template.spec.containers) {
        const verb = container.args[0] ?? "";
        const envVars = known.get(verb);
        expect(envVars, `verb "${verb}"`).toBeDefined();
        for (const variable of container.env.map((e) => e.name).filter((n) => n.startsWith("KVRAFT_"))) {
          expect(envVars?.has(variable), `${verb}: ${variable}`).toBe(true);
        }
      }
    }
  });
});
