import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { EventRecorder } from "../../src/operator/controller/events.js";
import { OperatorMetrics } from "../../src/operator/controller/metrics.js";
import { reconcileScheduledBackups, ScheduledBackupReconciler } from "../../src/operator/controller/scheduled-backup-reconciler.js";
import type { KVRaftBackup } from "../../src/operator/backup-types.js";
import type { KVRaftScheduledBackup, ScheduledBackupStatus } from "../../src/operator/scheduled-backup-types.js";
import { ApiDouble } from "./api-double.js";
import { makeCluster } from "./fixtures.js";

// The paths of the scheduled-backup controller that the real-API-server test
// (test/k8s/scheduled-backup.test.ts) cannot reach: prune Jobs that fail (no pod runs
// there), and pruning while the cluster is gone.

const BACKUPS_PATH = "/apis/kvraft.io/v1alpha1/namespaces/db/kvraftbackups";
const JOBS_PATH = "/apis/batch/v1/namespaces/db/jobs";
const STATUS_PATH = "/apis/kvraft.io/v1alpha1/namespaces/db/kvraftscheduledbackups/nightly/status";
const CLUSTER_PATH = "/apis/kvraft.io/v1alpha1/namespaces/db/kvraftclusters/kv";
const T0 = Date.UTC(2026, 11, 1, 3);
const HOUR_MS = 3_600_000;

const scheduled = (status?: ScheduledBackupStatus): KVRaftScheduledBackup => ({
  apiVersion: "kvraft.io/v1alpha1", kind: "KVRaftScheduledBackup",
  metadata: { name: "nightly", namespace: "db", uid: "s-uid", generation: 1, creationTimestamp: new Date(T0 - 10 * HOUR_MS).toISOString() },
  spec: { cluster: "kv", schedule: "0 3 * * *", target: { claimName: "backups" }, retention: { count: 1 } },
  ...(status === undefined ? {} : { status }),
});

/** A completed backup of the schedule, `hoursAgo` old. */
const completed = (hoursAgo: number, owner = "s-uid"): KVRaftBackup => ({
  apiVersion: "kvraft.io/v1alpha1", kind: "KVRaftBackup",
  metadata: {
    name: `nightly-${(T0 - hoursAgo * HOUR_MS) / 1000}`, namespace: "db", uid: `b-${hoursAgo}`,
    labels: { "kvraft.io/scheduled-backup": "nightly" }, annotations: { "kvraft.io/scheduled-time": new Date(T0 - hoursAgo * HOUR_MS).toISOString() },
    ownerReferences: [{ apiVersion: "kvraft.io/v1alpha1", kind: "KVRaftScheduledBackup", name: "nightly", uid: owner }],
  },
  spec: { cluster: "kv", target: { claimName: "backups", path: `kv/nightly-${(T0 - hoursAgo * HOUR_MS) / 1000}.kvbackup` } },
  status: { phase: "Completed", completionTime: new Date(T0 - hoursAgo * HOUR_MS).toISOString() },
});

function setup(): { api: ApiDouble; reconciler: ScheduledBackupReconciler; metrics: OperatorMetrics } {
  const api = new ApiDouble();
  const metrics = new OperatorMetrics();
  const events = new EventRecorder(api, "kvraft-operator", "test", () => {});
  api.objects.set(JOBS_PATH, { items: [] });
  return { api, metrics, reconciler: new ScheduledBackupReconciler({ rest: api, events, metrics, log: pino({ level: "silent" }), nowMs: () => T0 - HOUR_MS }) };
}
const statusOf = (api: ApiDouble): ScheduledBackupStatus | undefined => (api.objects.get(STATUS_PATH) as { status?: ScheduledBackupStatus } | undefined)?.status;
const deletes = (api: ApiDouble): string[] => api.sent.filter((s) => s.method === "DELETE").map((s) => s.path.split("/").at(-1) ?? "");

describe("the scheduled-backup controller", () => {
  it("prunes with a Job first, then deletes the backup; one another schedule owns is never touched", async () => {
    const { api, reconciler, metrics } = setup();
    api.objects.set(CLUSTER_PATH, makeCluster() as unknown as Record<string, unknown>);
    const foreign = { ...completed(72, "other-uid"), metadata: { ...completed(72, "other-uid").metadata, name: "nightly-foreign" } };
    api.objects.set(BACKUPS_PATH, { items: [completed(48), completed(24), foreign] });
    await reconciler.reconcile(scheduled());
    const order = api.sent.filter((s) => s.method !== "GET" && !s.path.includes("/events")).map((s) => `${s.method} ${s.path.split("/").slice(-2).join("/")}`);
    expect(order).toEqual([`PATCH jobs/${completed(48).metadata.name}-prune`, `DELETE kvraftbackups/${completed(48).metadata.name}`, "PATCH nightly/status"]);
    expect((api.sent.find((s) => s.method === "DELETE")?.body as { preconditions: { uid: string } }).preconditions.uid).toBe("b-48");
    expect(api.eventReasons()).toEqual(["BackupPruned"]);
    expect((await metrics.backupsPruned.get()).values[0]?.value).toBe(1);
    expect(statusOf(api)).toMatchObject({ lastCompletedBackup: completed(24).metadata.name });
  });

  it("while the cluster is gone, keeps the backups and says why pruning waits", async () => {
    const { api, reconciler } = setup();
    api.objects.set(BACKUPS_PATH, { items: [completed(48), completed(24)] });
    await reconciler.reconcile(scheduled());
    expect(deletes(api)).toEqual([]);
    expect(statusOf(api)?.conditions?.find((c) => c.type === "FilesRemoved")).toMatchObject({ status: "False", reason: "PruneWaiting", message: expect.stringContaining("KVRaftCluster kv, which does not exist in db") });
    expect(api.eventReasons()).toEqual(["PruneWaiting"]);
  });

  it("a failed prune Job turns FilesRemoved False naming the file, with one Warning, not one per poll", async () => {
    const { api, reconciler } = setup();
    api.objects.set(BACKUPS_PATH, { items: [completed(24)] });
    api.objects.set(JOBS_PATH, { items: [{
      apiVersion: "batch/v1", kind: "Job", metadata: { name: "nightly-1-prune", annotations: { "kvraft.io/pruned-file": "backups:kv/nightly-1.kvbackup" } },
      status: { conditions: [{ type: "Failed", status: "True", reason: "BackoffLimitExceeded" }] },
    }] });
    await reconciler.reconcile(scheduled());
    const condition = statusOf(api)?.conditions?.find((c) => c.type === "FilesRemoved");
    expect(condition).toMatchObject({ status: "False", reason: "PruneJobFailed" });
    expect(condition?.message).toContain("backups:kv/nightly-1.kvbackup (Job nightly-1-prune)");
    await reconciler.reconcile(scheduled(statusOf(api)));
    expect(api.eventReasons()).toEqual(["PruneJobFailed"]);
  });

  it("lists every schedule in reach and reconciles each under its kind; says once when the CRD is missing", async () => {
    const { api, reconciler } = setup();
    const lines: string[] = [];
    const log = pino({ level: "info" }, { write: (line: string) => { lines.push(line); } });
    const said = { missing: false };
    await reconcileScheduledBackups(reconciler, api, undefined, log, said);
    await reconcileScheduledBackups(reconciler, api, undefined, log, said);
    expect(lines.filter((l) => l.includes("KVRaftScheduledBackup CRD is not installed"))).toHaveLength(1);
    api.objects.set("/apis/kvraft.io/v1alpha1/kvraftscheduledbackups", { items: [{ metadata: scheduled().metadata, spec: scheduled().spec }] });
    api.objects.set(BACKUPS_PATH, { items: [] });
    await reconcileScheduledBackups(reconciler, api, undefined, log, said);
    expect((api.writesTo(STATUS_PATH)[0]?.body as { kind: string }).kind).toBe("KVRaftScheduledBackup");
  });
});
