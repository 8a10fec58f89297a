import { describe, expect, it } from "vitest";
import { desiredObjects, type DesiredOptions } from "../../src/operator/desired/index.js";
import { MONITORING_LIMITS, monitoringSettings } from "../../src/operator/desired/monitoring.js";
import { coordinatorServingNames, memberServingNames } from "../../src/operator/desired/tls.js";
import type { ClusterSpec, KubeObject } from "../../src/operator/types.js";
import { findObject, makeCluster, OPTIONS } from "./fixtures.js";

// spec.monitoring: PodMonitors for the servers and the coordinator, the labels a
// Prometheus's podMonitorSelector looks for, and the namespaces (and pods) the
// NetworkPolicies let scrape.

interface Endpoint { port: string; path: string; scheme?: string; tlsConfig?: { serverName: string } }
interface PodMonitorSpec { selector: { matchLabels: Record<string, string> }; podMetricsEndpoints: Endpoint[] }
interface Rule { from: Record<string, unknown>[]; ports: { port: number }[] }

const WITH_CRD: DesiredOptions = { ...OPTIONS, podMonitorAvailable: true };
const monitored = (monitoring: ClusterSpec["monitoring"] = {}, more: Partial<ClusterSpec> = {}): ReturnType<typeof makeCluster> =>
  makeCluster({ monitoring: { podMonitor: true, ...monitoring }, ...more });
const specOf = <T>(object: KubeObject): T => (object as unknown as { spec: T }).spec;
const podMonitors = (objects: KubeObject[]): KubeObject[] => objects.filter((o) => o.kind === "PodMonitor");
const ruleFor = (objects: KubeObject[], policy: string, port: number): Rule | undefined =>
  specOf<{ ingress: Rule[] }>(findObject(objects, "NetworkPolicy", policy)).ingress.find((r) => r.ports.some((p) => p.port === port));
const podLabelsOf = (objects: KubeObject[], kind: string, name: string): Record<string, string> =>
  specOf<{ template: { metadata: { labels: Record<string, string> } } }>(findObject(objects, kind, name)).template.metadata.labels;
const named = (name: string): Record<string, unknown> => ({ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": name } } });

describe("desired manifests with spec.monitoring", () => {
  it("by default (podMonitor on, nothing else) admits the whole `monitoring` namespace to the servers' HTTP port and the coordinator's, as before", () => {
    const objects = desiredObjects(monitored(), WITH_CRD);
    expect(ruleFor(objects, "kv", 8080)?.from).toContainEqual(named("monitoring"));
    expect(ruleFor(objects, "kv-coord", 7070)?.from).toContainEqual(named("monitoring"));
    // Never the peer, admin or binary client ports.
    for (const port of [7000, 8081, 7100]) expect(JSON.stringify(ruleFor(objects, "kv", port)?.from)).not.toContain("monitoring");
    const unmonitored = desiredObjects(makeCluster(), WITH_CRD);
    expect(JSON.stringify(unmonitored.filter((o) => o.kind === "NetworkPolicy"))).not.toContain("monitoring");
    expect(podMonitors(unmonitored)).toEqual([]);
  });

  it("takes the operator's monitoring namespace as the default when it has one", () => {
    const objects = desiredObjects(monitored(), { ...WITH_CRD, monitoringNamespace: "prometheus" });
    expect(ruleFor(objects, "kv", 8080)?.from).toContainEqual(named("prometheus"));
    expect(JSON.stringify(ruleFor(objects, "kv", 8080)?.from)).not.toContain('"monitoring"');
  });

  it("scrapes the coordinator too, with a PodMonitor that selects the Deployment's pods on the port serving /metrics", () => {
    const objects = desiredObjects(monitored(), WITH_CRD);
    expect(podMonitors(objects).map((o) => o.metadata.name)).toEqual(["kv", "kv-coord"]);
    const coord = specOf<PodMonitorSpec>(findObject(objects, "PodMonitor", "kv-coord"));
    expect(podLabelsOf(objects, "Deployment", "kv-coord")).toMatchObject(coord.selector.matchLabels);
    expect(coord.selector.matchLabels["app.kubernetes.io/component"]).toBe("coordinator");
    const container = specOf<{ template: { spec: { containers: { ports: { name: string; containerPort: number }[] }[] } } }>(findObject(objects, "Deployment", "kv-coord")).template.spec.containers[0];
    expect(container?.ports).toContainEqual({ name: coord.podMetricsEndpoints[0]?.port, containerPort: 7070 });
    const servers = specOf<PodMonitorSpec>(findObject(objects, "PodMonitor", "kv"));
    expect(podLabelsOf(objects, "StatefulSet", "kv")).toMatchObject(servers.selector.matchLabels);
    // Each selects only its own component: the two never scrape a pod twice.
    expect(servers.selector.matchLabels["app.kubernetes.io/component"]).toBe("server");
  });

  it("with TLS scrapes each component over HTTPS checking a name its own certificate carries", () => {
    const objects = desiredObjects(monitored(), WITH_CRD);
    const endpoint = (name: string): Endpoint | undefined => specOf<PodMonitorSpec>(findObject(objects, "PodMonitor", name)).podMetricsEndpoints[0];
    expect(endpoint("kv-coord")).toEqual({ port: "http", path: "/metrics", scheme: "https", tlsConfig: { ca: { configMap: { name: "kv-ca", key: "ca.crt" } }, serverName: "kv-coord.db.svc" } });
    expect(coordinatorServingNames(makeCluster()).dnsNames).toContain(endpoint("kv-coord")?.tlsConfig?.serverName);
    expect(memberServingNames(makeCluster(), 0).dnsNames).toContain(endpoint("kv")?.tlsConfig?.serverName);
    expect(memberServingNames(makeCluster(), 0).dnsNames).not.toContain(endpoint("kv-coord")?.tlsConfig?.serverName);
    const plain = desiredObjects(monitored({}, { tls: { enabled: false } }), { ...WITH_CRD, tls: undefined });
    expect(specOf<PodMonitorSpec>(findObject(plain, "PodMonitor", "kv-coord")).podMetricsEndpoints).toEqual([{ port: "http", path: "/metrics" }]);
  });

  it("makes no coordinator PodMonitor when no coordinator runs", () => {
    expect(podMonitors(desiredObjects(monitored({}, { coordinator: { replicas: 0 } }), WITH_CRD)).map((o) => o.metadata.name)).toEqual(["kv"]);
  });

  it("puts podMonitorLabels on both PodMonitors, beside the operator's own labels", () => {
    const objects = desiredObjects(monitored({ podMonitorLabels: { release: "kube-prometheus-stack", "example.com/team": "storage" } }), WITH_CRD);
    for (const monitor of podMonitors(objects)) {
      expect(monitor.metadata.labels).toEqual({
        release: "kube-prometheus-stack", "example.com/team": "storage",
        "app.kubernetes.io/name": "kvraft", "app.kubernetes.io/instance": "kv", "app.kubernetes.io/component": "monitoring", "app.kubernetes.io/managed-by": "kvraft-operator",
      });
    }
  });

  it("admits the allowedNamespaces and only the allowedPodLabels pods there, in place of the default", () => {
    const objects = desiredObjects(monitored({
      allowedNamespaces: [{ name: "observability" }, { matchLabels: { team: "sre" } }],
      allowedPodLabels: { "app.kubernetes.io/name": "prometheus" },
    }), WITH_CRD);
    const prometheus = { matchLabels: { "app.kubernetes.io/name": "prometheus" } };
    const scrapers = [{ ...named("observability"), podSelector: prometheus }, { namespaceSelector: { matchLabels: { team: "sre" } }, podSelector: prometheus }];
    expect(ruleFor(objects, "kv", 8080)?.from).toEqual(expect.arrayContaining(scrapers));
    expect(ruleFor(objects, "kv-coord", 7070)?.from).toEqual(expect.arrayContaining(scrapers));
    expect(JSON.stringify(ruleFor(objects, "kv", 8080)?.from)).not.toContain('"monitoring"');
    expect(ruleFor(objects, "kv", 7100)).toEqual(ruleFor(desiredObjects(makeCluster(), OPTIONS), "kv", 7100));
  });

  it("admits allowedNamespaces without PodMonitors too (a Prometheus that finds its targets another way), and an empty list is the default", () => {
    const objects = desiredObjects(makeCluster({ monitoring: { allowedNamespaces: [{ name: "observability" }] } }), OPTIONS);
    expect(podMonitors(objects)).toEqual([]);
    expect(ruleFor(objects, "kv-coord", 7070)?.from).toContainEqual(named("observability"));
    const empty = desiredObjects(monitored({ allowedNamespaces: [] }), WITH_CRD);
    expect(ruleFor(empty, "kv", 8080)?.from).toContainEqual(named("monitoring"));
  });

  it("refuses labels, namespaces and lists Kubernetes would refuse, naming the field and what to do", () => {
    const refusal = (monitoring: ClusterSpec["monitoring"]): string => {
      try {
        desiredObjects(makeCluster({ monitoring }), OPTIONS);
      } catch (error) {
        return (error as Error).message;
      }
      throw new Error(`accepted: ${JSON.stringify(monitoring)}`);
    };
    expect(refusal({ podMonitorLabels: { "bad key!": "x" } })).toMatch(/spec\.monitoring\.podMonitorLabels: "bad key!" is not a label key.*kubectl edit kvr/);
    expect(refusal({ podMonitorLabels: { release: "-dash" } })).toMatch(/podMonitorLabels: the value "-dash" of "release" is not a label value/);
    expect(refusal({ podMonitorLabels: { release: "x".repeat(64) } })).toMatch(/not a label value/);
    expect(refusal({ podMonitorLabels: { [`${"a".repeat(64)}`]: "x" } })).toMatch(/not a label key/);
    expect(refusal({ podMonitorLabels: { "app.kubernetes.io/managed-by": "me" } })).toMatch(/"app.kubernetes.io\/managed-by" is set by the operator/);
    expect(refusal({ allowedPodLabels: { "Upper.Case/name": "x" } })).toMatch(/allowedPodLabels: "Upper.Case\/name" is not a label key/);
    expect(refusal({ allowedNamespaces: [{ name: "Monitoring" }] })).toMatch(/allowedNamespaces\[0\]: "Monitoring" is not a namespace name/);
    expect(refusal({ allowedNamespaces: [{ name: "a", matchLabels: {} }] })).toMatch(/allowedNamespaces\[0\]: .*exactly one of the two/);
    expect(refusal({ allowedNamespaces: [{ name: "ok" }, {}] })).toMatch(/allowedNamespaces\[1\]: .*exactly one of the two/);
    const many = Array.from({ length: MONITORING_LIMITS.allowedNamespacesMax + 1 }, (_, i) => ({ name: `ns${i}` }));
    expect(refusal({ allowedNamespaces: many })).toMatch(/33 items, at most 32 allowed/);
    const labels = Object.fromEntries(Array.from({ length: MONITORING_LIMITS.labelsMax + 1 }, (_, i) => [`k${i}`, "v"]));
    expect(refusal({ podMonitorLabels: labels })).toMatch(/17 labels, at most 16 allowed/);
    // A YAML number in a spec read from a file (the CRD would refuse it).
    expect(refusal({ podMonitorLabels: { release: 1 as unknown as string } })).toMatch(/must be a string/);
  });

  it("accepts what Kubernetes accepts: prefixed keys, empty values, dotted names", () => {
    const ok = { podMonitorLabels: { "prometheus.example.com/scrape-group": "", "a_b.c-d": "A.b_c-1" }, allowedNamespaces: [{ name: "a-1" }, { matchLabels: {} }], allowedPodLabels: { x: "y" } };
    expect(monitoringSettings({ ...makeCluster().spec, monitoring: ok }, {}).podMonitorLabels).toEqual(ok.podMonitorLabels);
  });
});
