import { describe, expect, it } from "vitest";
import { desiredObjects } from "../../src/operator/desired/index.js";
import { memberServingNames } from "../../src/operator/desired/tls.js";
import { tlsSettings } from "../../src/operator/desired/spec-defaults.js";
import type { KubeObject } from "../../src/operator/types.js";
import { FAKE_TLS, makeCluster, OPTIONS } from "./fixtures.js";

interface EnvVar { name: string; value?: string; valueFrom?: unknown }
interface Probe { httpGet: { path: string; port: number; scheme?: string } }
interface Container { env: EnvVar[]; readinessProbe: Probe; livenessProbe: Probe; startupProbe: Probe; volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[] }
interface PodSpec { containers: Container[]; volumes: { name: string; secret?: { secretName: string; defaultMode?: number } }[] }

const find = (objects: KubeObject[], kind: string, name: string): KubeObject => {
  const object = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (object === undefined) throw new Error(`no ${kind}/${name} among ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(", ")}`);
  return object;
};
const podSpec = (objects: KubeObject[]): PodSpec => (find(objects, "StatefulSet", "kv") as unknown as { spec: { template: { spec: PodSpec } } }).spec.template.spec;
const container = (objects: KubeObject[]): Container => podSpec(objects).containers[0] as Container;
const data = (object: KubeObject): Record<string, string> => (object as unknown as { data: Record<string, string> }).data;
const decoded = (object: KubeObject): Record<string, string> =>
  Object.fromEntries(Object.entries(data(object)).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]));
const TLS_ENV = ["KVRAFT_PEER_CERT_FILE", "KVRAFT_PEER_KEY_FILE", "KVRAFT_PEER_TRUSTED_CA_FILE", "KVRAFT_CERT_FILE", "KVRAFT_KEY_FILE", "KVRAFT_TRUSTED_CA_FILE"];

describe("desired manifests with spec.tls", () => {
  const on = desiredObjects(makeCluster(), OPTIONS);
  const off = desiredObjects(makeCluster({ tls: { enabled: false } }), { ...OPTIONS, tls: undefined });

  it("is on by default: every port gets the pod's own certificate from the mounted members Secret", () => {
    const env = container(on).env;
    const value = (name: string): string | undefined => env.find((e) => e.name === name)?.value;
    expect(value("KVRAFT_PEER_CERT_FILE")).toBe("/etc/kvraft/tls/$(POD_NAME).crt");
    expect(value("KVRAFT_PEER_KEY_FILE")).toBe("/etc/kvraft/tls/$(POD_NAME).key");
    expect(value("KVRAFT_PEER_TRUSTED_CA_FILE")).toBe("/etc/kvraft/tls/ca.crt");
    expect(value("KVRAFT_CERT_FILE")).toBe(value("KVRAFT_PEER_CERT_FILE"));
    expect(value("KVRAFT_KEY_FILE")).toBe(value("KVRAFT_PEER_KEY_FILE"));
    expect(value("KVRAFT_TRUSTED_CA_FILE")).toBe(value("KVRAFT_PEER_TRUSTED_CA_FILE"));
    // The kubelet expands $(POD_NAME) only from variables defined before it.
    const podName = env.findIndex((e) => e.name === "POD_NAME");
    expect(podName).toBeGreaterThanOrEqual(0);
    for (const name of TLS_ENV) expect(env.findIndex((e) => e.name === name), name).toBeGreaterThan(podName);
    expect(container(on).volumeMounts).toContainEqual({ name: "tls", mountPath: "/etc/kvraft/tls", readOnly: true });
    expect(podSpec(on).volumes).toContainEqual({ name: "tls", secret: { secretName: "kv-tls-members", defaultMode: 0o440 } });
  });

  it("probes over HTTPS when TLS is on, over HTTP when it is off", () => {
    for (const probe of ["readinessProbe", "livenessProbe", "startupProbe"] as const) {
      expect(container(on)[probe].httpGet.scheme, probe).toBe("HTTPS");
      expect(container(off)[probe].httpGet.scheme, probe).toBeUndefined();
    }
  });

  it("off: no TLS variables, volume or objects, and no certificates needed", () => {
    expect(container(off).env.map((e) => e.name).filter((n) => TLS_ENV.includes(n))).toEqual([]);
    expect(podSpec(off).volumes.map((v) => v.name)).toEqual(["admin-token", "client-tokens"]);
    expect(off.map((o) => o.metadata.name).filter((n) => n.includes("tls") || n === "kv-ca")).toEqual([]);
  });

  it("holds the controller's certificates: the CA key only in the CA Secret, each member's pair by pod name, the bundle for clients in a ConfigMap", () => {
    expect(decoded(find(on, "Secret", "kv-tls-ca"))).toEqual({ "ca.crt": "CA-CERT", "ca.key": "CA-KEY" });
    expect(decoded(find(on, "Secret", "kv-tls-members"))).toEqual({
      "ca.crt": "CA-CERT", "kv-0.crt": "CERT-0", "kv-0.key": "KEY-0", "kv-1.crt": "CERT-1", "kv-1.key": "KEY-1", "kv-2.crt": "CERT-2", "kv-2.key": "KEY-2",
    });
    expect(decoded(find(on, "Secret", "kv-tls-coord"))).toEqual({ "ca.crt": "CA-CERT", "tls.crt": "COORD-CERT", "tls.key": "COORD-KEY" });
    expect(data(find(on, "ConfigMap", "kv-ca"))).toEqual({ "ca.crt": "CA-CERT" });
    // The members Secret is applied before the StatefulSet whose pods mount it.
    const names = on.map((o) => `${o.kind}/${o.metadata.name}`);
    expect(names.indexOf("Secret/kv-tls-members")).toBeLessThan(names.indexOf("StatefulSet/kv"));
  });

  it("during a CA rotation keeps the previous CA and when it was replaced", () => {
    const rotating = desiredObjects(makeCluster(), {
      ...OPTIONS, tls: { ...FAKE_TLS, previousCa: { certPem: "OLD-CA", keyPem: "OLD-KEY" }, caRotatedAt: "2026-12-01T00:00:00.000Z", caBundlePem: "CA-CERTOLD-CA" },
    });
    const ca = find(rotating, "Secret", "kv-tls-ca");
    expect(decoded(ca)).toMatchObject({ "previous-ca.crt": "OLD-CA", "previous-ca.key": "OLD-KEY" });
    expect(ca.metadata.annotations?.["kvraft.io/ca-rotated-at"]).toBe("2026-12-01T00:00:00.000Z");
    expect(decoded(find(rotating, "Secret", "kv-tls-members"))["ca.crt"]).toBe("CA-CERTOLD-CA");
  });

  it("has Prometheus scrape over HTTPS, trusting the CA bundle and checking a name every member's certificate carries", () => {
    const endpoints = (objects: KubeObject[]): unknown => (find(objects, "PodMonitor", "kv") as unknown as { spec: { podMetricsEndpoints: unknown[] } }).spec.podMetricsEndpoints;
    const monitored = { monitoring: { podMonitor: true } };
    expect(endpoints(desiredObjects(makeCluster(monitored), { ...OPTIONS, podMonitorAvailable: true }))).toEqual([{
      port: "http", path: "/metrics", scheme: "https", tlsConfig: { ca: { configMap: { name: "kv-ca", key: "ca.crt" } }, serverName: "kv-client.db.svc" },
    }]);
    expect(memberServingNames(makeCluster(), 0).dnsNames).toContain("kv-client.db.svc");
    const plain = desiredObjects(makeCluster({ ...monitored, tls: { enabled: false } }), { ...OPTIONS, tls: undefined, podMonitorAvailable: true });
    expect(endpoints(plain)).toEqual([{ port: "http", path: "/metrics" }]);
  });

  it("refuses to make the manifests without certificates when TLS is on, saying who makes them", () => {
    expect(() => desiredObjects(makeCluster(), { ...OPTIONS, tls: undefined })).toThrow(/no certificates were given: the controller must make them/);
  });

  it("names a member by its pod's DNS names, the client Service's and localhost", () => {
    expect(memberServingNames(makeCluster(), 1)).toEqual({
      dnsNames: [
        "kv-1.kv-peer.db.svc", "kv-1.kv-peer.db.svc.cluster.local",
        "kv-client", "kv-client.db", "kv-client.db.svc", "kv-client.db.svc.cluster.local", "localhost",
      ],
      ipAddresses: ["127.0.0.1"],
    });
  });

  it("checks spec.tls: defaults, bounds, and a renewal window shorter than a certificate's life", () => {
    expect(tlsSettings(makeCluster().spec)).toEqual({ enabled: true, certificateValidDays: 365, renewBeforeDays: 30 });
    expect(() => tlsSettings(makeCluster({ tls: { certificateValidDays: 30, renewBeforeDays: 30 } }).spec)).toThrow(/renewBeforeDays must be .* below spec.tls.certificateValidDays/);
    expect(() => tlsSettings(makeCluster({ tls: { certificateValidDays: 4000 } }).spec)).toThrow(/certificateValidDays must be a whole number in \[2, 3650\]/);
    expect(() => tlsSettings(makeCluster({ tls: { renewBeforeDays: 0 } }).spec)).toThrow(/renewBeforeDays/);
  });
});
