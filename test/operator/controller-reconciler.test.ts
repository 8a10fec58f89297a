import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { hashOf, withAppliedHash } from "../../src/operator/controller/apply-decision.js";
import { HttpAdminApi } from "../../src/operator/controller/admin-http.js";
import { EventRecorder } from "../../src/operator/controller/events.js";
import { FreshCache } from "../../src/operator/controller/fresh-cache.js";
import { OperatorMetrics } from "../../src/operator/controller/metrics.js";
import { Reconciler } from "../../src/operator/controller/reconciler.js";
import { PAUSE_ANNOTATION } from "../../src/operator/types.js";
import type { KubeObject, KVRaftCluster } from "../../src/operator/types.js";
import { AdminDouble } from "../support/admin-double.js";
import { memberServingNames } from "../../src/operator/desired/tls.js";
import { memberUri } from "../../src/security/member-identity.js";
import { issueCertificate } from "../../src/security/pki.js";
import { makeCluster } from "./fixtures.js";
import { MapCache, RecordingRest, settle } from "./reconciler-doubles.js";

function setup(double: AdminDouble, cluster: KVRaftCluster, caPems: (string | undefined)[] = [], podMonitorAvailable = false): { rest: RecordingRest; cache: MapCache; reconciler: Reconciler } {
  const rest = new RecordingRest(cluster);
  const cache = new MapCache();
  const reconciler = new Reconciler({
    rest, cache: new FreshCache(cache), metrics: new OperatorMetrics(), log: pino({ level: "silent" }),
    events: new EventRecorder(rest, "kvraft-operator", "test", () => undefined),
    adminFor: (cluster, token, _pods, caPem) => {
      caPems.push(caPem); // the double speaks plain HTTP: only recorded
      return new HttpAdminApi({ baseUrls: [double.url], token, clusterId: cluster.metadata.uid ?? "", deadlineMs: 2_000 });
    },
    desired: { operator: { namespace: "kvraft-system", podLabels: { "app.kubernetes.io/name": "kvraft-operator" } } },
    podMonitorAvailable: () => Promise.resolve(podMonitorAvailable),
    failpoints: new Set(),
  });
  return { rest, cache, reconciler };
}

describe("one reconcile", () => {
  let double: AdminDouble | undefined;
  afterEach(async () => {
    await double?.stop();
    double = undefined;
  });

  it("creates every object by server-side apply, then, once settled, writes nothing", async () => {
    const cluster = makeCluster();
    double = await AdminDouble.start({ clusterId: cluster.metadata.uid as string, voters: [1, 2, 3] });
    const { rest, cache, reconciler } = setup(double, cluster);
    cache.put("KVRaftCluster", cluster);

    const first = await reconciler.reconcile("db/kv");
    expect(first.step?.kind).toBe("Create");
    const applies = rest.mutations().filter((s) => !s.path.endsWith("/status"));
    expect(applies.map((s) => (s.body as KubeObject).kind)).toEqual([
      "ServiceAccount", "ConfigMap", "Secret", "Secret", "Service", "Service", "Secret", "Secret", "Secret", "ConfigMap",
      "Deployment", "Service", "StatefulSet", "PodDisruptionBudget", "NetworkPolicy", "NetworkPolicy",
    ]);
    for (const s of applies) {
      expect(s.contentType).toBe("application/apply-patch+yaml");
      const body = s.body as KubeObject;
      expect(body.metadata.ownerReferences?.[0]?.uid).toBe(cluster.metadata.uid);
      expect(body.metadata.annotations?.["kvraft.io/applied-hash"]).toMatch(/^[0-9a-f]{32}$/);
    }
    expect(rest.sent.some((s) => s.path.endsWith("/events") && (s.body as { reason: string }).reason === "Creating")).toBe(true);

    let current = settle(rest, cache, cluster, 0);
    await reconciler.reconcile("db/kv"); // membership answers: the cluster has formed; status records it
    current = settle(rest, cache, current, 3);
    expect(current.status?.formed).toBe(true);
    const third = await reconciler.reconcile("db/kv"); // formed: the ConfigMap says `existing` now
    expect(third.step?.kind).toBe("Done");
    current = settle(rest, cache, current, 3);
    expect(current.status?.phase).toBe("Running");

    const settledRun = await reconciler.reconcile("db/kv");
    expect(settledRun.step?.kind).toBe("Done");
    expect(rest.mutations()).toEqual([]);
  });

  it("reads its admin token Secret by name (no informer holds Secrets) and writes a deleted one again with the same token", async () => {
    const cluster = makeCluster();
    double = await AdminDouble.start({ clusterId: cluster.metadata.uid as string, voters: [1, 2, 3] });
    const { rest, cache, reconciler } = setup(double, cluster);
    cache.put("KVRaftCluster", cluster);
    const secretPath = "/api/v1/namespaces/db/secrets/kv-admin-token";
    const tokenWritten = (): string | undefined => {
      const applied = rest.mutations().find((s) => s.path === secretPath && s.method === "PATCH");
      return (applied?.body as { data?: Record<string, string> } | undefined)?.data?.["token"];
    };

    await reconciler.reconcile("db/kv");
    const token = tokenWritten();
    expect(token).toBeDefined();
    settle(rest, cache, cluster, 3);
    cache.objects.delete("Secret/db/kv-admin-token"); // what the informers hold has no say: only the API server's copy counts
    await reconciler.reconcile("db/kv");
    expect(tokenWritten(), "the Secret is as wanted: not written again").toBeUndefined();

    rest.stored.delete(secretPath); // deleted by hand
    rest.sent.length = 0;
    await reconciler.reconcile("db/kv");
    expect(tokenWritten()).toBe(token);
  });

  it("makes the client tokens Secret once, reads it by name, writes a deleted one again with the same tokens, and makes a new token for a key deleted by hand", async () => {
    const cluster = makeCluster();
    double = await AdminDouble.start({ clusterId: cluster.metadata.uid as string, voters: [1, 2, 3] });
    const { rest, cache, reconciler } = setup(double, cluster);
    cache.put("KVRaftCluster", cluster);
    const secretPath = "/api/v1/namespaces/db/secrets/kv-client-tokens";
    const written = (): Record<string, string> | undefined => {
      const applied = rest.mutations().find((s) => s.path === secretPath && s.method === "PATCH");
      const data = (applied?.body as { data?: Record<string, string> } | undefined)?.data;
      return data === undefined ? undefined : Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]));
    };

    await reconciler.reconcile("db/kv");
    const first = written();
    expect(first?.["read-write"]).toMatch(/^[0-9a-f]{64}$/);
    expect(first?.["read-only"]).toMatch(/^[0-9a-f]{64}$/);
    expect(first?.["read-write"]).not.toBe(first?.["read-only"]);
    expect(first?.["tokens.csv"]).toContain(`${first?.["read-write"]},read-write,read-write\n`);
    expect(first?.["tokens.csv"]).toContain(`${first?.["read-only"]},read-only,read-only\n`);
    settle(rest, cache, cluster, 3);
    await reconciler.reconcile("db/kv");
    expect(written(), "the Secret is as wanted: not written again").toBeUndefined();

    rest.stored.delete(secretPath); // deleted by hand: the running servers' tokens come back
    rest.sent.length = 0;
    await reconciler.reconcile("db/kv");
    expect(written()).toEqual(first);

    // A user rotates the read-only token by deleting its key: a new one, and tokens.csv follows.
    const stored = rest.stored.get(secretPath) as KubeObject & { data: Record<string, string> };
    const kept = { ...stored.data };
    delete kept["read-only"];
    rest.stored.set(secretPath, { ...stored, data: kept } as KubeObject);
    rest.sent.length = 0;
    await reconciler.reconcile("db/kv");
    const rotated = written();
    expect(rotated?.["read-write"]).toBe(first?.["read-write"]);
    expect(rotated?.["read-only"]).toMatch(/^[0-9a-f]{64}$/);
    expect(rotated?.["read-only"]).not.toBe(first?.["read-only"]);
    expect(rotated?.["tokens.csv"]).toContain(`${rotated?.["read-only"]},read-only,read-only\n`);
    const event = rest.sent.find((s) => s.path.includes("/events") && (s.body as { reason: string }).reason === "ClientTokensReplaced");
    expect((event?.body as { message?: string } | undefined)?.message).toMatch(/kv-client-tokens: read-only: missing, a new token was made/);
  });

  it("deletes the NetworkPolicies it made once spec.networkPolicy.enabled is false, and no one else's", async () => {
    const cluster = makeCluster({ networkPolicy: { enabled: false } });
    double = await AdminDouble.start({ clusterId: cluster.metadata.uid as string, voters: [1, 2, 3] });
    const { rest, cache, reconciler } = setup(double, cluster);
    cache.put("KVRaftCluster", cluster);
    const owner = { apiVersion: "kvraft.io/v1alpha1", kind: "KVRaftCluster", name: "kv", uid: cluster.metadata.uid as string, controller: true };
    cache.put("NetworkPolicy", { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name: "kv", namespace: "db", uid: "np-1", ownerReferences: [owner] } });
    cache.put("NetworkPolicy", { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name: "kv-coord", namespace: "db", uid: "np-2", ownerReferences: [owner] } });
    cache.put("NetworkPolicy", { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name: "users-own", namespace: "db", uid: "np-3" } });

    await reconciler.reconcile("db/kv");
    const deletes = rest.mutations().filter((s) => s.method === "DELETE");
    expect(deletes.map((s) => s.path).sort()).toEqual(["/apis/networking.k8s.io/v1/namespaces/db/networkpolicies/kv", "/apis/networking.k8s.io/v1/namespaces/db/networkpolicies/kv-coord"]);
    expect(deletes.map((s) => (s.body as { preconditions?: { uid: string } }).preconditions?.uid).sort()).toEqual(["np-1", "np-2"]);
    expect(rest.mutations().some((s) => s.method === "PATCH" && (s.body as KubeObject).kind === "NetworkPolicy")).toBe(false);
  });

  it("deletes the PodMonitors it made once spec.monitoring.podMonitor is false or no coordinator runs, and no one else's", async () => {
    const cluster = makeCluster({ monitoring: { podMonitor: true }, coordinator: { replicas: 0 } });
    double = await AdminDouble.start({ clusterId: cluster.metadata.uid as string, voters: [1, 2, 3] });
    const { rest, cache, reconciler } = setup(double, cluster, [], true);
    cache.put("KVRaftCluster", cluster);
    const owner = { apiVersion: "kvraft.io/v1alpha1", kind: "KVRaftCluster", name: "kv", uid: cluster.metadata.uid as string, controller: true };
    const monitor = (name: string, uid: string, owners: object[]): KubeObject => ({ apiVersion: "monitoring.coreos.com/v1", kind: "PodMonitor", metadata: { name, namespace: "db", uid, ownerReferences: owners } } as KubeObject);
    cache.put("PodMonitor", monitor("kv-coord", "pm-2", [owner]));
    cache.put("PodMonitor", monitor("users-own", "pm-3", []));

    await reconciler.reconcile("db/kv");
    const deletes = rest.mutations().filter((s) => s.method === "DELETE");
    expect(deletes.map((s) => s.path)).toEqual(["/apis/monitoring.coreos.com/v1/namespaces/db/podmonitors/kv-coord"]);
    expect((deletes[0]?.body as { preconditions?: { uid: string } }).preconditions?.uid).toBe("pm-2");
    // The servers' is still wanted: applied, not deleted.
    expect(rest.mutations().filter((s) => s.method === "PATCH" && (s.body as KubeObject).kind === "PodMonitor").map((s) => (s.body as KubeObject).metadata.name)).toEqual(["kv"]);
  });

  it("leaves PodMonitors alone while their kind is not served (nothing watches them then)", async () => {
    const cluster = makeCluster();
    double = await AdminDouble.start({ clusterId: cluster.metadata.uid as string, voters: [1, 2, 3] });
    const { rest, cache, reconciler } = setup(double, cluster);
    cache.put("KVRaftCluster", cluster);
    const owner = { apiVersion: "kvraft.io/v1alpha1", kind: "KVRaftCluster", name: "kv", uid: cluster.metadata.uid as string, controller: true };
    cache.put("PodMonitor", { apiVersion: "monitoring.coreos.com/v1", kind: "PodMonitor", metadata: { name: "kv", namespace: "db", uid: "pm-1", ownerReferences: [owner] } });
    await reconciler.reconcile("db/kv");
    expect(rest.mutations().filter((s) => s.method === "DELETE")).toEqual([]);
  });

  it("with TLS on, makes the CA and certificates once, keeps them, and gives the admin client the CA bundle; with TLS off, neither", async () => {
    const cluster = makeCluster();
    double = await AdminDouble.start({ clusterId: cluster.metadata.uid as string, voters: [1, 2, 3] });
    const caPems: (string | undefined)[] = [];
    const { rest, cache, reconciler } = setup(double, cluster, caPems);
    cache.put("KVRaftCluster", cluster);
    const tlsWrites = (): string[] => rest.mutations().filter((s) => s.method === "PATCH" && /\/(secrets\/kv-tls-|configmaps\/kv-ca$)/.test(s.path)).map((s) => s.path.replace(/^.*\//, ""));

    await reconciler.reconcile("db/kv");
    expect(tlsWrites().sort()).toEqual(["kv-ca", "kv-tls-ca", "kv-tls-coord", "kv-tls-members"]);
    const bundle = (rest.mutations().find((s) => s.path.endsWith("/configmaps/kv-ca"))?.body as { data: Record<string, string> }).data["ca.crt"];
    expect(bundle).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect(caPems).toEqual([bundle]);
    settle(rest, cache, cluster, 3);
    await reconciler.reconcile("db/kv");
    expect(tlsWrites(), "certificates far from expiry are kept: nothing to write").toEqual([]);
    expect(rest.sent.some((s) => s.path.endsWith("/events") && (s.body as { reason: string }).reason === "CertificatesRenewed")).toBe(false);

    // kv-1's certificate now expires in 10 days: reissued, the members Secret written, an Event says why.
    const stored = (name: string): { data: Record<string, string> } => rest.stored.get(`/api/v1/namespaces/db/secrets/${name}`) as unknown as { data: Record<string, string> };
    const text = (b64: string | undefined): string => Buffer.from(b64 ?? "", "base64").toString("utf8");
    const ca = { certPem: text(stored("kv-tls-ca").data["ca.crt"]), keyPem: text(stored("kv-tls-ca").data["ca.key"]) };
    const soon = await issueCertificate(ca, { commonName: "kv-1", ...memberServingNames(cluster, 1), uris: [memberUri({ clusterId: cluster.metadata.uid as string, memberId: 2 })], usage: "server-and-client", validDays: 10 });
    stored("kv-tls-members").data["kv-1.crt"] = Buffer.from(soon.certPem).toString("base64");
    stored("kv-tls-members").data["kv-1.key"] = Buffer.from(soon.keyPem).toString("base64");
    rest.sent.length = 0;
    await reconciler.reconcile("db/kv");
    expect(tlsWrites()).toEqual(["kv-tls-members"]);
    const renewed = rest.sent.find((s) => s.path.endsWith("/events") && (s.body as { reason: string }).reason === "CertificatesRenewed");
    expect((renewed?.body as { message: string } | undefined)?.message).toMatch(/^kv-1: expires within 30 days/);
    expect(caPems[1]).toBe(bundle);

    const plain = makeCluster({ tls: { enabled: false } });
    const plainCaPems: (string | undefined)[] = [];
    const off = setup(double, plain, plainCaPems);
    off.cache.put("KVRaftCluster", plain);
    await off.reconciler.reconcile("db/kv");
    expect(off.rest.mutations().filter((s) => /kv-tls-|kv-ca$/.test(s.path))).toEqual([]);
    expect(plainCaPems).toEqual([undefined]);
  });

  it("a paused cluster gets one Event and no other write", async () => {
    const cluster = makeCluster();
    double = await AdminDouble.start({ clusterId: cluster.metadata.uid as string, voters: [1, 2, 3] });
    const { rest, cache, reconciler } = setup(double, cluster);
    cache.put("KVRaftCluster", { ...cluster, metadata: { ...cluster.metadata, annotations: { [PAUSE_ANNOTATION]: "true" } } });
    await reconciler.reconcile("db/kv");
    await reconciler.reconcile("db/kv");
    expect(rest.sent.map((s) => (s.body as { reason?: string }).reason)).toEqual(["Paused"]);
  });

  it("the hash it writes is the hash of what it wanted (so the next reconcile can compare)", () => {
    const object: KubeObject = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x", namespace: "db" }, data: { a: "1" } };
    expect(withAppliedHash(object).metadata.annotations?.["kvraft.io/applied-hash"]).toBe(hashOf(object));
  });
});

describe("a quorum lost for good", () => {
  it("raises QuorumLost, as a condition and one Warning Event, and changes nothing else", async () => {
    const cluster = makeCluster();
    const double = await AdminDouble.start({ clusterId: cluster.metadata.uid as string, voters: [1, 2, 3] });
    const { rest, cache, reconciler } = setup(double, cluster);
    cache.put("KVRaftCluster", cluster);
    try {
      await reconciler.reconcile("db/kv");
      let current = settle(rest, cache, cluster, 3);
      await reconciler.reconcile("db/kv");
      current = settle(rest, cache, current, 3);
      expect(current.status?.formed).toBe(true);
      await reconciler.reconcile("db/kv"); // formed: the ConfigMap says `existing` now
      settle(rest, cache, current, 3);
    } finally {
      await double.stop(); // every member is gone: nobody answers, and no claim is in the cache
    }
    const lost = await reconciler.reconcile("db/kv");
    expect(lost.step?.kind).toBe("Wait");
    const writes = rest.mutations();
    expect(writes.map((s) => s.path), "only the status is written").toEqual(["/apis/kvraft.io/v1alpha1/namespaces/db/kvraftclusters/kv/status"]);
    const conditions = (writes[0]?.body as KVRaftCluster).status?.conditions ?? [];
    expect(conditions.find((c) => c.type === "QuorumLost")).toMatchObject({ status: "True", reason: "QuorumLost", message: expect.stringMatching(/3 of 3 voters are gone .*no member kept its data: the only way out is a backup/) });
    const quorumEvents = (): { type: string; reason: string }[] => rest.sent.filter((s) => s.path.endsWith("/events"))
      .map((s) => s.body as { type: string; reason: string }).filter((e) => e.reason === "QuorumLost");
    expect(quorumEvents()).toEqual([expect.objectContaining({ type: "Warning", reason: "QuorumLost" })]);

    const current = settle(rest, cache, { ...cluster, status: (writes[0]?.body as KVRaftCluster).status }, 3);
    await reconciler.reconcile("db/kv");
    expect(quorumEvents(), "the same loss again: no new Event").toEqual([]);
    expect(rest.mutations(), "and no write").toEqual([]);
    expect(current.status?.conditions?.some((c) => c.type === "QuorumLost")).toBe(true);
  });
});
