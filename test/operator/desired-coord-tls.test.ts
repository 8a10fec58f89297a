import { describe, expect, it } from "vitest";
import { desiredObjects } from "../../src/operator/desired/index.js";
import { coordinatorServingNames } from "../../src/operator/desired/tls.js";
import { TokenStore } from "../../src/security/tokens.js";
import type { KubeObject } from "../../src/operator/types.js";
import { FAKE_CLIENT_TOKENS, makeCluster, OPTIONS } from "./fixtures.js";

interface EnvVar { name: string; value?: string }
interface Probe { httpGet: { path: string; port: number; scheme?: string } }
interface Container { env: EnvVar[]; readinessProbe: Probe; livenessProbe: Probe; volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[] }
interface Volume { name: string; secret?: { secretName: string; defaultMode?: number; items?: { key: string; path: string }[] } }
interface PodSpec { containers: Container[]; volumes?: Volume[]; securityContext: { fsGroup?: number } }

const find = (objects: KubeObject[], kind: string, name: string): KubeObject => {
  const object = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (object === undefined) throw new Error(`no ${kind}/${name} among ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(", ")}`);
  return object;
};
const podSpecOf = (objects: KubeObject[], kind: string, name: string): PodSpec =>
  (find(objects, kind, name) as unknown as { spec: { template: { spec: PodSpec } } }).spec.template.spec;
const coordinator = (objects: KubeObject[]): PodSpec => podSpecOf(objects, "Deployment", "kv-coord");
const server = (objects: KubeObject[]): PodSpec => podSpecOf(objects, "StatefulSet", "kv");
const envOf = (spec: PodSpec): Record<string, string | undefined> => Object.fromEntries((spec.containers[0] as Container).env.map((e) => [e.name, e.value]));
const decoded = (object: KubeObject): Record<string, string> =>
  Object.fromEntries(Object.entries((object as unknown as { data: Record<string, string> }).data).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]));

describe("the coordinator with spec.tls", () => {
  const on = desiredObjects(makeCluster(), OPTIONS);
  const off = desiredObjects(makeCluster({ tls: { enabled: false } }), { ...OPTIONS, tls: undefined });

  it("serves HTTPS with its certificate from the coord Secret and checks members' reports against the CA bundle", () => {
    const env = envOf(coordinator(on));
    expect(env["KVRAFT_COORD_CERT_FILE"]).toBe("/etc/kvraft/tls/tls.crt");
    expect(env["KVRAFT_COORD_KEY_FILE"]).toBe("/etc/kvraft/tls/tls.key");
    expect(env["KVRAFT_COORD_TRUSTED_CA_FILE"]).toBe("/etc/kvraft/tls/ca.crt");
    expect(coordinator(on).containers[0]?.volumeMounts).toEqual([{ name: "tls", mountPath: "/etc/kvraft/tls", readOnly: true }]);
    expect(coordinator(on).volumes).toEqual([{ name: "tls", secret: { secretName: "kv-tls-coord", defaultMode: 0o440 } }]);
    // The key is mode 0440: the image's user reads it through its group.
    expect(coordinator(on).securityContext.fsGroup).toBe(1000);
    // The Secret it mounts holds exactly the keys the variables name.
    expect(Object.keys(decoded(find(on, "Secret", "kv-tls-coord"))).sort()).toEqual(["ca.crt", "tls.crt", "tls.key"]);
  });

  it("with TLS off, takes reports only with the cluster's coordinator token, which the servers present", () => {
    const tokens = { ...FAKE_CLIENT_TOKENS, coordinator: "coordinator-token-0123456789" };
    const plain = desiredObjects(makeCluster({ tls: { enabled: false } }), { ...OPTIONS, tls: undefined, clientTokens: tokens });
    expect(envOf(coordinator(plain))["KVRAFT_COORD_AUTH_TOKEN_FILE"]).toBe("/etc/kvraft/client-tokens/coordinator");
    expect(coordinator(plain).volumes).toEqual([{ name: "coordinator-token", secret: { secretName: "kv-client-tokens", defaultMode: 0o440, items: [{ key: "coordinator", path: "coordinator" }] } }]);
    expect(envOf(server(plain))["KVRAFT_COORD_TOKEN_FILE"]).toBe("/etc/kvraft/client-tokens/coordinator");
    expect(server(plain).volumes?.find((v) => v.name === "client-tokens")?.secret?.items).toEqual([{ key: "tokens.csv", path: "tokens.csv" }, { key: "coordinator", path: "coordinator" }]);
    const secret = decoded(find(plain, "Secret", "kv-client-tokens"));
    expect(secret["coordinator"]).toBe(tokens.coordinator);
    // Not a client token: the servers' token file does not hold it.
    expect(secret["tokens.csv"]).not.toContain(tokens.coordinator);
    // With TLS the members' certificates prove them: no token anywhere.
    const secured = desiredObjects(makeCluster(), { ...OPTIONS, clientTokens: tokens });
    expect(envOf(coordinator(secured))["KVRAFT_COORD_AUTH_TOKEN_FILE"]).toBeUndefined();
    expect(envOf(server(secured))["KVRAFT_COORD_TOKEN_FILE"]).toBeUndefined();
  });

  it("is probed over HTTPS with TLS on, over HTTP with it off", () => {
    for (const probe of ["readinessProbe", "livenessProbe"] as const) {
      expect(coordinator(on).containers[0]?.[probe].httpGet, probe).toEqual({ path: "/healthz", port: 7070, scheme: "HTTPS" });
      expect(coordinator(off).containers[0]?.[probe].httpGet, probe).toEqual({ path: "/healthz", port: 7070 });
    }
  });

  it("has the servers report to https:// on the coordinator Service's name its certificate carries; plain http:// with TLS off", () => {
    const url = envOf(server(on))["KVRAFT_COORD"];
    expect(url).toBe("https://kv-coord.$(POD_NAMESPACE).svc.cluster.local:7070");
    const host = new URL((url ?? "").replace("$(POD_NAMESPACE)", "db")).hostname;
    expect(coordinatorServingNames(makeCluster()).dnsNames).toContain(host);
    // Their member certificate (the peer port's) is what the coordinator requires of a report.
    expect(envOf(server(on))["KVRAFT_PEER_CERT_FILE"]).toBe("/etc/kvraft/tls/$(POD_NAME).crt");
    expect(envOf(server(off))["KVRAFT_COORD"]).toBe("http://kv-coord.$(POD_NAMESPACE).svc.cluster.local:7070");
  });

  it("with TLS off mounts nothing and sets no TLS variable", () => {
    expect(coordinator(off).volumes).toBeUndefined();
    expect(coordinator(off).containers[0]?.volumeMounts).toBeUndefined();
    expect(Object.keys(envOf(coordinator(off))).filter((n) => n.includes("CERT") || n.includes("KEY") || n.includes("CA_FILE"))).toEqual([]);
  });
});

describe("the client tokens Secret", () => {
  const objects = desiredObjects(makeCluster(), OPTIONS);

  it("holds tokens.csv for the servers and each token under its role's name for users; not the admin token", () => {
    const data = decoded(find(objects, "Secret", "kv-client-tokens"));
    expect(Object.keys(data).sort()).toEqual(["read-only", "read-write", "tokens.csv"]);
    expect(data["read-write"]).toBe(FAKE_CLIENT_TOKENS.readWrite);
    expect(data["read-only"]).toBe(FAKE_CLIENT_TOKENS.readOnly);
    expect(Object.values(data).join("\n")).not.toContain(OPTIONS.adminToken);
    // The servers' own parser takes the file, with the roles the names say.
    const store = TokenStore.parse(data["tokens.csv"] ?? "", "tokens.csv");
    expect(store.lookup(FAKE_CLIENT_TOKENS.readWrite)).toEqual({ name: "read-write", role: "read-write" });
    expect(store.lookup(FAKE_CLIENT_TOKENS.readOnly)).toEqual({ name: "read-only", role: "read-only" });
  });

  it("is mounted into every server pod (tokens.csv only) and named by KVRAFT_AUTH_TOKEN_FILE; the admin token stays in its own Secret", () => {
    const spec = server(objects);
    expect(spec.volumes).toContainEqual({ name: "client-tokens", secret: { secretName: "kv-client-tokens", defaultMode: 0o440, items: [{ key: "tokens.csv", path: "tokens.csv" }] } });
    expect(spec.containers[0]?.volumeMounts).toContainEqual({ name: "client-tokens", mountPath: "/etc/kvraft/client-tokens", readOnly: true });
    expect(envOf(spec)["KVRAFT_AUTH_TOKEN_FILE"]).toBe("/etc/kvraft/client-tokens/tokens.csv");
    expect(envOf(spec)["KVRAFT_ADMIN_TOKEN_FILE"]).toBe("/etc/kvraft/admin/token");
    // Before the StatefulSet whose pods mount it.
    const names = objects.map((o) => `${o.kind}/${o.metadata.name}`);
    expect(names.indexOf("Secret/kv-client-tokens")).toBeLessThan(names.indexOf("StatefulSet/kv"));
  });

  it("is made with TLS off too: clients authenticate either way", () => {
    const off = desiredObjects(makeCluster({ tls: { enabled: false } }), { ...OPTIONS, tls: undefined });
    expect(envOf(server(off))["KVRAFT_AUTH_TOKEN_FILE"]).toBe("/etc/kvraft/client-tokens/tokens.csv");
    expect(off.some((o) => o.kind === "Secret" && o.metadata.name === "kv-client-tokens")).toBe(true);
  });

  it("refuses a token a token,name,role line cannot hold, or a short one, saying who makes them", () => {
    for (const bad of ["", "short", "has,a-comma-0123456789", "has space 0123456789", "x".repeat(513)]) {
      expect(() => desiredObjects(makeCluster(), { ...OPTIONS, clientTokens: { ...FAKE_CLIENT_TOKENS, readOnly: bad } }), JSON.stringify(bad))
        .toThrow(/the read-only client token .*: the controller must generate one/);
    }
  });
});
