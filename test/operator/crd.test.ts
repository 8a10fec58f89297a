import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { LABEL_PATTERNS } from "../../src/operator/desired/label-rules.js";
import { MONITORING_LIMITS, OPERATOR_LABEL_KEYS } from "../../src/operator/desired/monitoring.js";
import { SPEC_DEFAULTS, TLS_BOUNDS } from "../../src/operator/desired/spec-defaults.js";
import { API_GROUP, API_VERSION, KIND, PLURAL } from "../../src/operator/types.js";
import type { Schema } from "./schema-check.js";
import { schemaProblems } from "./schema-check.js";
import { startedRecovery } from "../../src/operator/controller/recovery-driver.js";
import { makeCluster } from "./fixtures.js";

interface Crd {
  apiVersion: string; kind: string; metadata: { name: string };
  spec: {
    group: string; scope: string;
    names: { kind: string; plural: string; shortNames: string[] };
    versions: {
      name: string; served: boolean; storage: boolean;
      subresources: { status: object; scale: { specReplicasPath: string; statusReplicasPath: string; labelSelectorPath: string } };
      additionalPrinterColumns: { name: string; jsonPath: string }[];
      schema: { openAPIV3Schema: Schema };
    }[];
  };
}

const crd = parse(readFileSync(new URL("../../crds/kvraftcluster.yaml", import.meta.url), "utf8")) as Crd;
const version = crd.spec.versions[0] as Crd["spec"]["versions"][number];
const root = version.schema.openAPIV3Schema;
const spec = root.properties?.["spec"] as Schema;
const field = (...path: string[]): Schema => path.reduce<Schema>((s, key) => s.properties?.[key] as Schema, spec);
const rules = (schema: Schema): { rule: string; message: string }[] => schema["x-kubernetes-validations"] ?? [];

describe("the KVRaftCluster CRD", () => {
  it("names the resource as the operator's code does", () => {
    expect(crd).toMatchObject({ apiVersion: "apiextensions.k8s.io/v1", kind: "CustomResourceDefinition", metadata: { name: `${PLURAL}.${API_GROUP}` } });
    expect(crd.spec).toMatchObject({ group: API_GROUP, scope: "Namespaced", names: { kind: KIND, plural: PLURAL, shortNames: ["kvr"] } });
    expect(crd.spec.versions.map((v) => [v.name, v.served, v.storage])).toEqual([[API_VERSION, true, true]]);
  });

  it("has the status and scale subresources, so kubectl scale works", () => {
    expect(version.subresources).toEqual({
      status: {},
      scale: { specReplicasPath: ".spec.replicas", statusReplicasPath: ".status.replicas", labelSelectorPath: ".status.selector" },
    });
  });

  it("prints Replicas, Ready, Leader, Term, Phase and Age", () => {
    const columns = version.additionalPrinterColumns.map((c) => c.name);
    for (const name of ["Replicas", "Ready", "Leader", "Term", "Phase", "Age"]) expect(columns).toContain(name);
    expect(version.additionalPrinterColumns.find((c) => c.name === "Leader")?.jsonPath).toBe(".status.leader.pod");
  });

  it("validates with CEL rules whose messages say what to do", () => {
    const replicas = rules(field("replicas"));
    expect(replicas.map((r) => r.rule)).toEqual(["self in [1, 3, 5, 7]"]);
    expect(replicas[0]?.message).toMatch(/must be 1, 3, 5 or 7/);
    const storage = rules(field("storage"));
    expect(storage.some((r) => r.rule.includes("isQuantity(self.size)") && /quantity such as 1Gi/.test(r.message))).toBe(true);
    const noShrink = storage.find((r) => r.rule.includes("oldSelf"));
    expect(noShrink?.rule).toContain("quantity(self.size).compareTo(quantity(oldSelf.size)) >= 0");
    expect(noShrink?.message).toMatch(/cannot shrink/);
    expect(rules(spec).find((r) => r.rule.includes("self.image"))?.message).toMatch(/spec.image is required/);
    const namespaceItem = rules(field("networkPolicy", "allowedNamespaces").items as Schema);
    expect(namespaceItem.map((r) => r.rule)).toEqual(["has(self.name) != has(self.matchLabels)"]);
    for (const rule of [...replicas, ...storage, ...rules(spec), ...rules(field("raft")), ...namespaceItem]) expect(rule.message.length).toBeGreaterThan(30);
  });

  it("has the same defaults as the operator applies to a spec read from a file", () => {
    expect(field("replicas").default).toBe(3);
    expect(field("raft", "heartbeatMs").default).toBe(SPEC_DEFAULTS.heartbeatMs);
    expect(field("raft", "electionMs").default).toBe(SPEC_DEFAULTS.electionMs);
    expect(field("coordinator", "replicas").default).toBe(SPEC_DEFAULTS.coordinatorReplicas);
    expect(field("service", "type").default).toBe(SPEC_DEFAULTS.serviceType);
    expect(field("pvcRetention", "whenDeleted").default).toBe(SPEC_DEFAULTS.retention);
    expect(field("pvcRetention", "whenScaled").default).toBe(SPEC_DEFAULTS.retention);
    expect(field("imagePullPolicy").default).toBe(SPEC_DEFAULTS.imagePullPolicy);
    expect(field("storage", "size").default).toBe(SPEC_DEFAULTS.storageSize);
    expect(field("networkPolicy", "enabled").default).toBe(SPEC_DEFAULTS.networkPolicyEnabled);
    expect(field("networkPolicy").default).toEqual({});
    expect(field("tls").default).toEqual({});
    expect(field("tls", "enabled").default).toBe(SPEC_DEFAULTS.tlsEnabled);
    expect(field("tls", "certificateValidDays").default).toBe(SPEC_DEFAULTS.certificateValidDays);
    expect(field("tls", "renewBeforeDays").default).toBe(SPEC_DEFAULTS.renewBeforeDays);
  });

  it("bounds spec.tls as the operator checks it", () => {
    expect([field("tls", "certificateValidDays").minimum, field("tls", "certificateValidDays").maximum]).toEqual([TLS_BOUNDS.validDaysMin, TLS_BOUNDS.validDaysMax]);
    expect(field("tls", "renewBeforeDays").minimum).toBe(TLS_BOUNDS.renewBeforeDaysMin);
    const window = rules(field("tls"));
    expect(window.map((r) => r.rule)).toEqual(["!has(self.certificateValidDays) || !has(self.renewBeforeDays) || self.renewBeforeDays < self.certificateValidDays"]);
    expect(window[0]?.message).toMatch(/reissued on every reconcile/);
  });

  it("checks spec.monitoring's labels and namespaces with the operator's own patterns and limits", () => {
    const labelMaps = [field("monitoring", "podMonitorLabels"), field("monitoring", "allowedPodLabels"), (field("monitoring", "allowedNamespaces").items as Schema).properties?.["matchLabels"] as Schema];
    for (const labels of labelMaps) {
      expect(labels.maxProperties).toBe(MONITORING_LIMITS.labelsMax);
      expect(labels.additionalProperties).toMatchObject({ type: "string", maxLength: 63, pattern: LABEL_PATTERNS.value });
      expect(rules(labels)[0]?.rule).toContain(`k.matches('${LABEL_PATTERNS.key}')`);
      expect(rules(labels)[0]?.message).toMatch(/must be a label key/);
    }
    expect(field("monitoring", "allowedNamespaces").maxItems).toBe(MONITORING_LIMITS.allowedNamespacesMax);
    const item = field("monitoring", "allowedNamespaces").items as Schema;
    expect(item.properties?.["name"]?.pattern).toBe(LABEL_PATTERNS.namespace);
    expect(rules(item).map((r) => r.rule)).toEqual(["has(self.name) != has(self.matchLabels)"]);
    const reserved = rules(field("monitoring", "podMonitorLabels"))[1]?.rule ?? "";
    for (const key of OPERATOR_LABEL_KEYS) expect(reserved).toContain(`'${key}'`);
  });

  it("describes every status field the operator writes", () => {
    const status = root.properties?.["status"]?.properties ?? {};
    for (const name of ["observedGeneration", "phase", "reason", "conditions", "replicas", "readyReplicas", "selector", "formed", "leader", "term", "commitIndex", "members", "bootstrap", "recovery"]) {
      expect(Object.keys(status)).toContain(name);
    }
  });

  it("takes a recovery record as the operator writes it (startedRecovery), and refuses an unknown phase", () => {
    const cluster = makeCluster();
    const recovery = startedRecovery(cluster, { kind: "Recover", fromMember: 3, gone: [1, 2], commitIndex: 40, lastIndex: 42, message: "m" }, "2026-12-07T00:00:00Z");
    const status = root.properties?.["status"] as Schema;
    expect(schemaProblems({ recovery }, status, ".status")).toEqual([]);
    expect(schemaProblems({ recovery: { ...recovery, phase: "Completed", completedAt: "2026-12-07T00:01:00Z" } }, status, ".status")).toEqual([]);
    expect(schemaProblems({ recovery: { ...recovery, phase: "Done" } }, status, ".status")).toEqual([".status.recovery.phase: Done is not one of Rebuilding, Completed"]);
  });

  it.each(["cluster.yaml", "cluster-full.yaml"])("accepts examples/%s (structurally; the rig applies it for real)", (file) => {
    const documents = parseAllDocuments(readFileSync(new URL(`../../examples/${file}`, import.meta.url), "utf8")).map((d) => d.toJS() as Record<string, unknown>);
    expect(documents).toHaveLength(1);
    const example = documents[0] as { apiVersion: string; kind: string; spec: { replicas: number } };
    expect(example.apiVersion).toBe(`${API_GROUP}/${API_VERSION}`);
    expect(example.kind).toBe(KIND);
    // metadata is the API server's, not the schema's to describe.
    expect(schemaProblems({ ...example, metadata: {} }, root)).toEqual([]);
    expect([1, 3, 5, 7]).toContain(example.spec.replicas);
  });

  it("the structural check itself catches a misspelt field and a bad enum", () => {
    expect(schemaProblems({ spec: { image: "x", replica: 3, service: { type: "Ingress" } } }, root)).toEqual([
      ".spec.replica: not in the schema",
      ".spec.service.type: Ingress is not one of ClusterIP, NodePort, LoadBalancer",
    ]);
  });
});
