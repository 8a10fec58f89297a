import { X509Certificate } from "node:crypto";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { EventRecorder } from "../../src/operator/controller/events.js";
import { OperatorMetrics } from "../../src/operator/controller/metrics.js";
import { Reconciler } from "../../src/operator/controller/reconciler.js";
import { recoveredClusterId } from "../../src/operator/controller/recovery-driver.js";
import { clusterIdOf } from "../../src/operator/desired/index.js";
import { memberCertKeys } from "../../src/operator/desired/names.js";
import { RECOVER_ANNOTATION } from "../../src/operator/planner/quorum-loss.js";
import { planRecovery } from "../../src/operator/planner/recovery.js";
import type { AdminApi, KubeObject, KVRaftCluster, MemberProgressView, MembershipView, PodView, RecoveryStatus } from "../../src/operator/types.js";
import { memberIdentityOf } from "../../src/security/member-identity.js";
import { makeCluster } from "./fixtures.js";
import { MapCache, RecordingRest, settle } from "./reconciler-doubles.js";

const STATUS_PATH = "/apis/kvraft.io/v1alpha1/namespaces/db/kvraftclusters/kv/status";
const CLUSTER_PATH = "/apis/kvraft.io/v1alpha1/namespaces/db/kvraftclusters/kv";

/** The admin API of whichever members answer now; every change is recorded. */
class SwitchableAdmin {
  membership: MembershipView | undefined;
  statuses = new Map<number, MemberProgressView>();
  /** The cluster id the reconciler asked for: members of another cluster do not answer it. */
  answersFor: string | undefined;
  readonly changes: string[] = [];

  for(clusterId: string): AdminApi {
    const answers = clusterId === this.answersFor;
    const change = (what: string) => (id: number): Promise<void> => {
      this.changes.push(`${what} ${id}`);
      return Promise.resolve();
    };
    return {
      members: () => (answers && this.membership !== undefined ? Promise.resolve(this.membership) : Promise.reject(new Error("no leader"))),
      memberStatuses: () => Promise.resolve(answers ? this.statuses : new Map()),
      addLearner: change("addLearner"), promote: change("promote"), remove: change("remove"), transferLeadership: change("transferLeadership"),
    };
  }
}

function reconcilerFor(rest: RecordingRest, cache: MapCache, admin: SwitchableAdmin): Reconciler {
  return new Reconciler({
    rest, cache, metrics: new OperatorMetrics(), log: pino({ level: "silent" }),
    events: new EventRecorder(rest, "kvraft-operator", "test", () => undefined),
    adminFor: (cluster) => admin.for(clusterIdOf(cluster)),
    desired: { operator: { namespace: "kvraft-system", podLabels: { "app.kubernetes.io/name": "kvraft-operator" } } },
    podMonitorAvailable: () => Promise.resolve(false),
    failpoints: new Set(),
  });
}

const voters = (ids: readonly number[], leaderId: number): MembershipView => ({
  leaderId, term: 7, commitIndex: 40, members: ids.map((id) => ({ id, role: "voter" as const, healthy: true })),
});

function claim(ordinal: number): KubeObject {
  return { apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: `data-kv-${ordinal}`, namespace: "db" } };
}

/** The server pods as the StatefulSet made them, each started with this cluster id. */
function putPods(cache: MapCache, clusterId: string | undefined): void {
  for (let ordinal = 0; ordinal < 3; ordinal++) {
    cache.put("Pod", {
      apiVersion: "v1", kind: "Pod",
      metadata: { name: `kv-${ordinal}`, namespace: "db", uid: `pod-${ordinal}-${clusterId ?? "old"}`, ownerReferences: [{ apiVersion: "apps/v1", kind: "StatefulSet", name: "kv", uid: "uid-kv", controller: true }] },
      spec: { containers: [{ name: "server", env: clusterId === undefined ? [] : [{ name: "KVRAFT_CLUSTER_ID", value: clusterId }] }] },
      status: { phase: "Running", conditions: [{ type: "Ready", status: "True" }] },
    } as KubeObject);
  }
}

const sentBody = <T>(rest: RecordingRest, kind: string): T | undefined =>
  rest.sent.map((s) => s.body as KubeObject).find((b) => b.kind === kind) as T | undefined;
const reasons = (rest: RecordingRest): string[] => rest.sent.filter((s) => s.path.endsWith("/events")).map((s) => (s.body as { reason: string }).reason);

describe("quorum-loss recovery carried out by the operator", () => {
  it("records the recovery before changing anything, restarts the pods under the new id, completes once the survivor leads, then grows the cluster again", async () => {
    const admin = new SwitchableAdmin();
    let cluster = makeCluster();
    const oldId = cluster.metadata.uid as string;
    admin.answersFor = oldId;
    admin.membership = voters([1, 2, 3], 1);
    const rest = new RecordingRest(cluster);
    const cache = new MapCache();
    const reconciler = reconcilerFor(rest, cache, admin);
    cache.put("KVRaftCluster", cluster);
    for (let pass = 0; pass < 3; pass++) { // create, settle, formed
      await reconciler.reconcile("db/kv");
      cluster = settle(rest, cache, cluster, 3);
    }
    expect(cluster.status?.formed).toBe(true);

    // Members 1 and 2 lost their claims and do not answer; member 3 answers with its data.
    admin.membership = undefined;
    admin.statuses = new Map([[3, { commitIndex: 40, lastIndex: 42, term: 7, nonVoting: false }]]);
    cache.put("PersistentVolumeClaim", claim(2));
    putPods(cache, oldId);
    await reconciler.reconcile("db/kv");
    expect(reasons(rest)).toContain("QuorumLost");
    expect(rest.mutations().filter((s) => s.method === "DELETE"), "without the annotation nothing changes").toEqual([]);

    // The annotation: the first pass only records the recovery and takes the annotation away.
    cluster = settle(rest, cache, { ...cluster, metadata: { ...cluster.metadata, annotations: { [RECOVER_ANNOTATION]: "3" } } }, 0);
    putPods(cache, oldId);
    await reconciler.reconcile("db/kv");
    const newId = recoveredClusterId(oldId, oldId, 3);
    const recorded = (rest.sent.find((s) => s.path === STATUS_PATH)?.body as KVRaftCluster | undefined)?.status;
    expect(recorded?.recovery).toMatchObject({ phase: "Rebuilding", fromMember: 3, fromClusterId: oldId, clusterId: newId, commitIndex: 40, lastIndex: 42 });
    expect(recorded?.conditions?.find((c) => c.type === "QuorumLost")).toMatchObject({ status: "True", reason: "Recovering" });
    const annotationPatch = rest.sent.find((s) => s.path === CLUSTER_PATH);
    expect(annotationPatch).toMatchObject({ method: "PATCH", contentType: "application/merge-patch+json", body: { metadata: { annotations: { [RECOVER_ANNOTATION]: null } } } });
    expect(reasons(rest)).toContain("RecoveryStarted");
    expect(rest.mutations().filter((s) => s.method === "DELETE"), "nothing restarts before the record is written").toEqual([]);
    expect(admin.changes).toEqual([]);

    // Recorded: the desired objects carry the new id; every pod on the old one restarts.
    cluster = settle(rest, cache, { ...cluster, metadata: { ...cluster.metadata, annotations: {} }, status: recorded }, 0);
    putPods(cache, oldId);
    await reconciler.reconcile("db/kv");
    const set = sentBody<{ spec: { template: { spec: { containers: { name: string; env: { name: string; value?: string; valueFrom?: unknown }[] }[] } } } }>(rest, "StatefulSet");
    const env = set?.spec.template.spec.containers.find((c) => c.name === "server")?.env ?? [];
    expect(env.find((e) => e.name === "KVRAFT_CLUSTER_ID")?.value).toBe(newId);
    expect(env.find((e) => e.name === "KVRAFT_RECOVER_FROM_MEMBER")?.valueFrom).toMatchObject({ configMapKeyRef: { key: "recover-from-member", optional: true } });
    const config = rest.sent.map((s) => s.body as KubeObject & { data?: Record<string, string> }).find((b) => b.kind === "ConfigMap" && b.metadata.name === "kv-config");
    expect(config?.data?.["recover-from-member"]).toBe("3");
    const members = rest.sent.map((s) => s.body as KubeObject & { data?: Record<string, string> }).find((b) => b.metadata.name === "kv-tls-members");
    const cert = new X509Certificate(Buffer.from(members?.data?.[memberCertKeys("kv-2").cert] ?? "", "base64"));
    expect(memberIdentityOf(cert.subjectAltName), "member certificates name the new cluster").toEqual({ clusterId: newId, memberId: 3 });
    expect(rest.sent.filter((s) => s.method === "DELETE").map((s) => s.path).sort()).toEqual(["kv-0", "kv-1", "kv-2"].map((p) => `/api/v1/namespaces/db/pods/${p}`));
    expect(reasons(rest)).toContain("RecoveryRestartingPods");

    // The pods run under the new id; member 3 has rebuilt itself and leads alone.
    cluster = settle(rest, cache, cluster, 0);
    putPods(cache, newId);
    admin.answersFor = newId;
    admin.membership = voters([3], 3);
    await reconciler.reconcile("db/kv");
    const completed = (rest.sent.find((s) => s.path === STATUS_PATH)?.body as KVRaftCluster | undefined)?.status;
    expect(completed?.recovery).toMatchObject({ phase: "Completed", clusterId: newId, completedAt: expect.any(String) });
    expect(completed?.conditions?.find((c) => c.type === "QuorumLost")).toMatchObject({ status: "False" });
    expect(reasons(rest)).toContain("Recovered");
    expect(rest.sent.filter((s) => s.method === "DELETE")).toEqual([]);

    // Complete: the usual scale-out re-adds the lost members, and the ConfigMap drops the request.
    cluster = settle(rest, cache, { ...cluster, status: completed }, 0);
    putPods(cache, newId);
    const next = await reconciler.reconcile("db/kv");
    expect(next.step).toMatchObject({ kind: "AddLearner", memberId: 1 });
    expect(admin.changes).toEqual(["addLearner 1"]);
    const configAfter = rest.sent.map((s) => s.body as KubeObject & { data?: Record<string, string> }).find((b) => b.kind === "ConfigMap" && b.metadata.name === "kv-config");
    expect(configAfter?.data?.["recover-from-member"]).toBeUndefined();
  });
});

describe("planRecovery", () => {
  const recovery: RecoveryStatus = {
    phase: "Rebuilding", fromMember: 2, fromClusterId: "old", clusterId: "new", commitIndex: 9, lastIndex: 9, startedAt: "2026-01-01T00:00:00Z", message: "m",
  };
  const pod = (ordinal: number, clusterId: string | undefined, extra: Partial<PodView> = {}): PodView => ({
    ordinal, name: `kv-${ordinal}`, phase: "Running", ready: true, terminating: false, restartCount: 0, ...(clusterId === undefined ? {} : { clusterId }), ...extra,
  });

  it("restarts every pod not on the new id (a terminating one is already going), then waits for the survivor to lead", () => {
    expect(planRecovery(recovery, [pod(0, "old"), pod(1, "new"), pod(2, undefined), pod(3, "old", { terminating: true })], undefined))
      .toMatchObject({ kind: "RestartPods", pods: [{ name: "kv-0" }, { name: "kv-2" }] });
    expect(planRecovery(recovery, [pod(0, "new"), pod(1, "new", { ready: false })], undefined)).toMatchObject({ kind: "Wait", reason: expect.stringMatching(/member 2 .*kv-1 is starting/) });
    expect(planRecovery(recovery, [pod(0, "new"), pod(1, "new")], voters([1], 1)), "another member leading is not the survivor").toMatchObject({ kind: "Wait" });
    expect(planRecovery(recovery, [pod(0, "new"), pod(1, "new")], voters([2], 2))).toMatchObject({ kind: "Complete", message: expect.stringMatching(/member 2 leads cluster new/) });
  });

  it("the new id is the same for the same recovery, another for another, and shaped as a UUID", () => {
    const id = recoveredClusterId("uid", "old", 3);
    expect(id).toBe(recoveredClusterId("uid", "old", 3));
    expect(new Set([id, recoveredClusterId("uid", "old", 2), recoveredClusterId("uid", id, 3), recoveredClusterId("uid2", "old", 3)]).size).toBe(4);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
