import { pino } from "pino";
import { describe, expect, it } from "vitest";
import type { KVRaftBackup } from "../../src/operator/backup-types.js";
import type { BootstrapStatus } from "../../src/operator/bootstrap-types.js";
import { bootstrapClusterStatus, resolveSource, restoreProgress } from "../../src/operator/bootstrap-status.js";
import { BootstrapGate } from "../../src/operator/controller/bootstrap-gate.js";
import { EventRecorder } from "../../src/operator/controller/events.js";
import { desiredObjects } from "../../src/operator/desired/index.js";
import { restoreClaim, restoreJob } from "../../src/operator/desired/restore-job.js";
import { computeStatus } from "../../src/operator/status.js";
import type { ClusterStatus, KubeObject, KVRaftCluster } from "../../src/operator/types.js";
import { ApiDouble } from "./api-double.js";
import { makeCluster, OPTIONS } from "./fixtures.js";

const FROM_BACKUP = { bootstrap: { fromBackup: { backupName: "nightly" } } };
const SOURCE = { claimName: "backups", path: "kv/nightly.kvbackup" };
const READY = { kind: "ready", source: SOURCE, backupName: "nightly" } as const;
const NOW = "2026-01-01T00:00:00Z";
/** What `kvraft backup restore` leaves in the termination message for a flipped byte in the body. */
const CORRUPT_OUTCOME = JSON.stringify({ phase: "Failed", durationMs: 40, message: "/backup/kv/nightly.kvbackup is not a sound KVRaft backup: body at byte 93: bytes 93-2000 fail their checksum (CRC32C 0x1, recorded 0x2): the snapshot bytes are damaged" });

const byKind = (objects: readonly KubeObject[], kind: string): KubeObject => {
  const found = objects.find((o) => o.kind === kind);
  if (found === undefined) throw new Error(`no ${kind}`);
  return found;
};
const podSpecOf = (set: KubeObject): Record<string, unknown> => (set["spec"] as { template: { spec: Record<string, unknown> } }).template.spec;
const jobView = (type: "Complete" | "Failed" | undefined) => ({ conditions: type === undefined ? [] : [{ type, status: "True" }], active: type === undefined ? 1 : 0 });
const terminated = (message: string) => [{ status: { containerStatuses: [{ name: "restore", state: { terminated: { finishedAt: NOW, message } } }] } }];

describe("desired objects of a cluster founded from a backup", () => {
  it("founds the cluster with member 1 alone, whose pod template is the same as any cluster's: the restore is a Job, not a step in every pod", () => {
    const plain = desiredObjects(makeCluster(), OPTIONS);
    const restored = desiredObjects(makeCluster(FROM_BACKUP), OPTIONS);
    expect((byKind(plain, "StatefulSet")["spec"] as { replicas: number }).replicas).toBe(3);
    expect((byKind(restored, "StatefulSet")["spec"] as { replicas: number }).replicas).toBe(1);
    expect((byKind(restored, "ConfigMap")["data"] as Record<string, string>)).toEqual({ peers: "1=kv-0.kv-peer.db.svc.cluster.local:7000", "initial-cluster-state": "new" });
    expect((byKind(plain, "ConfigMap")["data"] as Record<string, string>)["peers"]?.split(",")).toHaveLength(3);
    expect(podSpecOf(byKind(restored, "StatefulSet"))).toEqual(podSpecOf(byKind(plain, "StatefulSet")));
    expect(JSON.stringify(restored)).not.toContain("backups");
    // Once it formed, the others join as learners: every ordinal is in the peers, and they start `existing`.
    const formed = desiredObjects(makeCluster(FROM_BACKUP, { formed: true, replicas: 1 }), { ...OPTIONS, serverReplicas: 2 });
    expect((byKind(formed, "ConfigMap")["data"] as Record<string, string>)["initial-cluster-state"]).toBe("existing");
    expect((byKind(formed, "ConfigMap")["data"] as Record<string, string>)["peers"]?.split(",")).toHaveLength(3);
  });

  it("restores into pod 0's claim only, as member 1 of this cluster's id, with the backup's claim mounted read-only", () => {
    const cluster = makeCluster(FROM_BACKUP);
    const job = restoreJob(cluster, SOURCE);
    const pod = (job["spec"] as { template: { spec: { volumes: { persistentVolumeClaim: { claimName: string; readOnly?: boolean } }[]; containers: { args: string[]; volumeMounts: { mountPath: string; readOnly?: boolean }[] }[] } } }).template.spec;
    expect(pod.volumes.map((v) => v.persistentVolumeClaim)).toEqual([{ claimName: "backups", readOnly: true }, { claimName: "data-kv-0" }]);
    expect(pod.containers[0]?.volumeMounts).toEqual([{ name: "backup", mountPath: "/backup", readOnly: true }, { name: "data", mountPath: "/var/lib/kvraft" }]);
    expect(pod.containers[0]?.args.join(" ")).toBe(`backup restore /backup/kv/nightly.kvbackup --data-dir /var/lib/kvraft --id 1 --cluster-id ${cluster.metadata.uid ?? ""} --termination-message-path /dev/termination-log --output json`);
    expect(job.metadata.ownerReferences?.[0]).toMatchObject({ kind: "KVRaftCluster", uid: cluster.metadata.uid, controller: true });
    expect(() => restoreJob(cluster, { claimName: "backups", path: "../other/x.kvbackup" })).toThrow(/must not contain/);
  });

  it("makes pod 0's claim as the StatefulSet would, owned by the cluster only when claims go with it", () => {
    const set = byKind(desiredObjects(makeCluster(FROM_BACKUP), OPTIONS), "StatefulSet")["spec"] as { selector: { matchLabels: Record<string, string> }; volumeClaimTemplates: { metadata: { labels: Record<string, string> }; spec: unknown }[] };
    const template = set.volumeClaimTemplates[0];
    const claim = restoreClaim(makeCluster(FROM_BACKUP));
    expect(claim.metadata.name).toBe("data-kv-0");
    expect(claim.metadata.labels).toEqual({ ...template?.metadata.labels, ...set.selector.matchLabels });
    expect(claim["spec"]).toEqual(template?.spec);
    expect(claim.metadata.ownerReferences).toBeUndefined();
    const deleted = restoreClaim(makeCluster({ ...FROM_BACKUP, pvcRetention: { whenDeleted: "Delete" } }));
    expect(deleted.metadata.ownerReferences?.[0]).toMatchObject({ kind: "KVRaftCluster", controller: false });
  });
});

describe("the bootstrap's status", () => {
  const backup = (status?: KVRaftBackup["status"]): KVRaftBackup => ({
    apiVersion: "kvraft.io/v1alpha1", kind: "KVRaftBackup", metadata: { name: "nightly", namespace: "db" },
    spec: { cluster: "orders", target: { claimName: "backups" } }, ...(status === undefined ? {} : { status }),
  });

  it("waits for a backup that is missing or not done, refuses a failed one, and takes the claim and path of a completed one", () => {
    const from = { backupName: "nightly" };
    expect(resolveSource(from, undefined, "db")).toMatchObject({ kind: "waiting", message: expect.stringContaining("KVRaftBackup nightly does not exist in db") });
    expect(resolveSource(from, backup({ phase: "Running" }), "db")).toMatchObject({ kind: "waiting", message: expect.stringContaining("is Running") });
    expect(resolveSource(from, backup({ phase: "Failed", message: "no leader" }), "db")).toMatchObject({ kind: "refused", message: "KVRaftBackup nightly failed: no leader" });
    expect(resolveSource(from, backup({ phase: "Completed", ...SOURCE }), "db")).toEqual(READY);
    expect(resolveSource(SOURCE, undefined, "db")).toEqual({ kind: "ready", source: SOURCE });
    expect(resolveSource({ claimName: "backups", path: "/etc/passwd" }, undefined, "db")).toMatchObject({ kind: "refused" });
  });

  it("a corrupt file: Refused, with the reader's words in the status, a Bootstrapped=False BackupRefused condition, and the cluster Failed", () => {
    const progress = restoreProgress(READY, jobView("Failed"), JSON.parse(JSON.stringify(CORRUPT_OUTCOME)) as string);
    expect(progress.phase).toBe("Refused");
    expect(progress.message).toContain("body at byte 93: bytes 93-2000 fail their checksum");
    expect(progress.message).toContain("No member was started");
    const status = bootstrapClusterStatus(makeCluster(FROM_BACKUP), progress, NOW);
    expect(status).toMatchObject({ phase: "Failed", bootstrap: { phase: "Refused", backupName: "nightly", claimName: "backups" } });
    expect(status.conditions?.find((c) => c.type === "Bootstrapped")).toMatchObject({ status: "False", reason: "BackupRefused", message: progress.message, lastTransitionTime: NOW });
    expect(status.conditions?.find((c) => c.type === "Available")).toMatchObject({ status: "False", reason: "BackupRefused" });
    // A Job that failed without a word (killed) still refuses, naming the Job's own reason.
    expect(restoreProgress(READY, { conditions: [{ type: "Failed", status: "True", reason: "DeadlineExceeded", message: "too long" }], active: 0 }, undefined).message).toMatch(/^DeadlineExceeded: too long/);
  });

  it("a sound file: Restored at the backup's revision; the condition keeps its time while it holds, and the normal status keeps both", () => {
    const done = JSON.stringify({ phase: "Completed", revision: 4711, clusterId: "source-id", message: "restored" });
    const progress = restoreProgress(READY, jobView("Complete"), done);
    expect(progress).toMatchObject({ phase: "Restored", revision: 4711, sourceClusterId: "source-id" });
    expect(restoreProgress(READY, jobView(undefined), undefined).phase).toBe("Restoring");
    const first = bootstrapClusterStatus(makeCluster(FROM_BACKUP), progress, NOW);
    expect(first.phase).toBe("Creating");
    const again = bootstrapClusterStatus(makeCluster(FROM_BACKUP, first), progress, "2026-01-02T00:00:00Z");
    expect(again).toEqual(first);
    const later = computeStatus({ cluster: makeCluster(FROM_BACKUP, first), pods: [], statefulSet: { replicas: 1, readyReplicas: 0 }, step: { kind: "Wait", reason: "x" }, now: NOW }, first);
    expect(later.bootstrap).toEqual(progress);
    expect(later.conditions?.find((c) => c.type === "Bootstrapped")).toMatchObject({ status: "True", reason: "RestoredFromBackup" });
  });
});

describe("the bootstrap gate", () => {
  const JOB = "/apis/batch/v1/namespaces/db/jobs/kv-restore";
  const CLAIM = "/api/v1/namespaces/db/persistentvolumeclaims/data-kv-0";
  const STATUS = "/apis/kvraft.io/v1alpha1/namespaces/db/kvraftclusters/kv/status";
  const setup = (): { api: ApiDouble; gate: BootstrapGate } => {
    const api = new ApiDouble();
    const events = new EventRecorder(api, "kvraft-operator", "test", () => {});
    return { api, gate: new BootstrapGate({ rest: api, events, log: pino({ level: "silent" }) }) };
  };
  const written = (api: ApiDouble): ClusterStatus => (api.objects.get(STATUS) as { status: ClusterStatus }).status;

  it("holds a cluster on a corrupt backup: claim and Job made once, then Refused with a Warning; nothing else is made, and the refusal stands", async () => {
    const { api, gate } = setup();
    const cluster = makeCluster({ bootstrap: { fromBackup: SOURCE } });
    expect(await gate.hold(cluster, false)).toEqual({ phase: "Pending", requeueAfterMs: 2000 });
    expect(api.writesTo(CLAIM)).toHaveLength(1);
    expect(api.writesTo(JOB)).toHaveLength(1);
    expect(api.eventReasons()).toEqual(["RestoreStarted"]);
    expect(written(api)).toMatchObject({ phase: "Pending", bootstrap: { phase: "Restoring" } });
    api.objects.set(JOB, { ...api.objects.get(JOB), status: { conditions: [{ type: "Failed", status: "True" }] } });
    api.pods = terminated(CORRUPT_OUTCOME);
    const refusedCluster: KVRaftCluster = { ...cluster, status: written(api) };
    expect(await gate.hold(refusedCluster, false)).toEqual({ phase: "Failed" });
    expect(written(api)).toMatchObject({ phase: "Failed", bootstrap: { phase: "Refused" } });
    expect(api.eventReasons()).toEqual(["RestoreStarted", "BackupRefused"]);
    const warning = api.sent.find((s) => (s.body as { reason?: string }).reason === "BackupRefused")?.body as { type: string; message: string };
    expect(warning).toMatchObject({ type: "Warning", message: expect.stringContaining("body at byte 93") });
    expect(api.writesTo(JOB)).toHaveLength(1);
    const sentCount = api.sent.length;
    expect(await gate.hold({ ...cluster, status: written(api) }, false)).toEqual({ phase: "Failed" });
    expect(api.sent).toHaveLength(sentCount);
    expect(api.sent.every((s) => !s.path.includes("statefulsets"))).toBe(true);
  });

  it("lets a cluster without a bootstrap, or one whose restore is done, through untouched", async () => {
    const { api, gate } = setup();
    expect(await gate.hold(makeCluster(), false)).toBeUndefined();
    const restored: BootstrapStatus = { phase: "Restored", ...SOURCE };
    expect(await gate.hold(makeCluster(FROM_BACKUP, { bootstrap: restored }), false)).toBeUndefined();
    expect(await gate.hold(makeCluster(FROM_BACKUP), true)).toBeUndefined();
    expect(api.sent).toEqual([]);
  });
});
