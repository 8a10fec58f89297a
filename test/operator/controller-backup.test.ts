import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { BackupReconciler, reconcileBackups } from "../../src/operator/controller/backup-reconciler.js";
import { EventRecorder } from "../../src/operator/controller/events.js";
import { OperatorMetrics } from "../../src/operator/controller/metrics.js";
import type { KVRaftBackup } from "../../src/operator/backup-types.js";
import type { KubeObject } from "../../src/operator/types.js";
import { ApiDouble } from "./api-double.js";
import { makeCluster } from "./fixtures.js";

const JOB_PATH = "/apis/batch/v1/namespaces/db/jobs/nightly-backup";
const BACKUP_STATUS_PATH = "/apis/kvraft.io/v1alpha1/namespaces/db/kvraftbackups/nightly/status";

function setup(): { api: ApiDouble; reconciler: BackupReconciler; metrics: OperatorMetrics } {
  const api = new ApiDouble();
  const events = new EventRecorder(api, "kvraft-operator", "test", () => {});
  const metrics = new OperatorMetrics();
  return { api, metrics, reconciler: new BackupReconciler({ rest: api, events, metrics, log: pino({ level: "silent" }), clusterDomain: "cluster.local" }) };
}

const backup = (status?: KVRaftBackup["status"]): KVRaftBackup => ({
  apiVersion: "kvraft.io/v1alpha1", kind: "KVRaftBackup",
  metadata: { name: "nightly", namespace: "db", uid: "b-uid", generation: 1 },
  spec: { cluster: "kv", target: { claimName: "backups" } }, ...(status === undefined ? {} : { status }),
});
const statusOf = (api: ApiDouble): KVRaftBackup["status"] => (api.objects.get(BACKUP_STATUS_PATH) as { status: KVRaftBackup["status"] } | undefined)?.status;

describe("the backup controller", () => {
  it("waits, saying why, while the cluster does not exist; makes no Job", async () => {
    const { api, reconciler } = setup();
    expect(await reconciler.reconcile(backup())).toBe(true);
    expect(statusOf(api)).toMatchObject({ phase: "Pending", message: "KVRaftCluster kv does not exist in db: waiting for it" });
    expect(api.writesTo(JOB_PATH)).toEqual([]);
  });

  it("makes the Job once, follows it to Completed with the take's details, then leaves the backup alone", async () => {
    const { api, reconciler, metrics } = setup();
    api.objects.set("/apis/kvraft.io/v1alpha1/namespaces/db/kvraftclusters/kv", makeCluster() as unknown as Record<string, unknown>);
    expect(await reconciler.reconcile(backup())).toBe(true);
    expect(api.writesTo(JOB_PATH)).toHaveLength(1);
    expect((api.objects.get(JOB_PATH) as unknown as KubeObject).metadata.ownerReferences?.[0]?.uid).toBe("b-uid");
    expect(statusOf(api)?.phase).toBe("Pending");
    expect(api.eventReasons()).toEqual(["BackupStarted"]);

    const job = api.objects.get(JOB_PATH) as Record<string, unknown>;
    api.objects.set(JOB_PATH, { ...job, status: { active: 1, startTime: "2026-12-06T01:00:00Z" } });
    expect(await reconciler.reconcile(backup(statusOf(api)))).toBe(true);
    expect(statusOf(api)?.phase).toBe("Running");
    expect(api.writesTo(JOB_PATH)).toHaveLength(1);

    api.objects.set(JOB_PATH, { ...job, status: { succeeded: 1, conditions: [{ type: "Complete", status: "True" }], startTime: "2026-12-06T01:00:00Z", completionTime: "2026-12-06T01:00:03Z" } });
    api.pods = [
      { status: { containerStatuses: [{ name: "backup", state: { terminated: { finishedAt: "2026-12-06T01:00:01Z", message: JSON.stringify({ phase: "Failed", message: "broke" }) } } }] } },
      { status: { containerStatuses: [{ name: "backup", state: { terminated: { finishedAt: "2026-12-06T01:00:03Z", message: JSON.stringify({ phase: "Completed", fileBytes: 4096, revision: 42, raftIndex: 42, raftTerm: 2, durationMs: 1500, message: "ok" }) } } }] } },
    ];
    expect(await reconciler.reconcile(backup(statusOf(api)))).toBe(false);
    expect(statusOf(api)).toMatchObject({ phase: "Completed", revision: 42, sizeBytes: 4096, raftTerm: 2, durationMs: 1500, path: "kv/nightly.kvbackup" });
    expect(api.eventReasons()).toEqual(["BackupStarted", "BackupCompleted"]);
    expect((await metrics.backups.get()).values).toEqual([{ labels: { phase: "Completed" }, value: 1 }, { labels: { phase: "Failed" }, value: 0 }]);
    expect((await metrics.lastBackup.get()).values).toEqual([{ labels: { cluster_namespace: "db", cluster_name: "kv" }, value: Date.parse("2026-12-06T01:00:03Z") / 1000 }]);

    const writes = api.sent.length;
    expect(await reconciler.reconcile(backup(statusOf(api)))).toBe(false);
    expect(api.sent.length).toBe(writes);
  });

  it("refuses a Job of its name that another owner made, and fails the backup with a Warning", async () => {
    const { api, reconciler, metrics } = setup();
    api.objects.set("/apis/kvraft.io/v1alpha1/namespaces/db/kvraftclusters/kv", makeCluster() as unknown as Record<string, unknown>);
    api.objects.set(JOB_PATH, { apiVersion: "batch/v1", kind: "Job", metadata: { name: "nightly-backup", namespace: "db", ownerReferences: [{ uid: "someone-else" }] } });
    expect(await reconciler.reconcile(backup())).toBe(false);
    expect(statusOf(api)).toMatchObject({ phase: "Failed", message: expect.stringContaining("does not belong to this backup") });
    expect(api.eventReasons()).toEqual(["BackupFailed"]);
    expect((await metrics.backups.get()).values).toEqual([{ labels: { phase: "Completed" }, value: 0 }, { labels: { phase: "Failed" }, value: 1 }]);
  });

  it("with no KVRaftBackup CRD installed, polls quietly and says so once", async () => {
    const { api, reconciler } = setup();
    const lines: string[] = [];
    const log = pino({ level: "info" }, { write: (line: string) => { lines.push(line); } });
    const said = { missing: false };
    await reconcileBackups(reconciler, api, undefined, log, said);
    await reconcileBackups(reconciler, api, undefined, log, said);
    expect(lines.filter((l) => l.includes("KVRaftBackup CRD is not installed"))).toHaveLength(1);
  });

  it("reconciles every listed backup, naming each by its kind for Events", async () => {
    const { api, reconciler } = setup();
    api.objects.set("/apis/kvraft.io/v1alpha1/kvraftbackups", { items: [{ metadata: backup().metadata, spec: backup().spec }] });
    await reconcileBackups(reconciler, api, undefined, pino({ level: "silent" }), { missing: false });
    expect(statusOf(api)?.phase).toBe("Pending");
    expect((api.writesTo(BACKUP_STATUS_PATH)[0]?.body as { kind: string }).kind).toBe("KVRaftBackup");
  });
});
