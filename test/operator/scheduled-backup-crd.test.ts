import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { BACKUP_KIND } from "../../src/operator/backup-types.js";
import { backupJob, backupJobName } from "../../src/operator/desired/backup-job.js";
import { pruneJob, pruneJobName, slotBackup } from "../../src/operator/desired/scheduled-backup-objects.js";
import { planSchedule, slotBackupName } from "../../src/operator/scheduled-backup-plan.js";
import { CONDITION_MESSAGE_CHARS_MAX, scheduledBackupStatus } from "../../src/operator/scheduled-backup-status.js";
import {
  FAILED_KEPT_COUNT_DEFAULT, FAILED_KEPT_COUNT_MAX, RETENTION_COUNT_DEFAULT, RETENTION_COUNT_MAX, RETENTION_COUNT_MIN,
  SCHEDULED_BACKUP_KIND, SCHEDULED_BACKUP_NAME_CHARS_MAX, SCHEDULED_BACKUP_PLURAL, type KVRaftScheduledBackup,
} from "../../src/operator/scheduled-backup-types.js";
import { API_GROUP, API_VERSION, type KVRaftCluster } from "../../src/operator/types.js";
import { type Schema, schemaProblems } from "./schema-check.js";

interface Crd {
  metadata: { name: string };
  spec: {
    group: string; scope: string; names: { kind: string; plural: string; shortNames: string[] };
    versions: { name: string; subresources: Record<string, unknown>; additionalPrinterColumns: { name: string; jsonPath: string }[]; schema: { openAPIV3Schema: Schema } }[];
  };
}

const read = (path: string): string => readFileSync(new URL(`../../${path}`, import.meta.url), "utf8");
const crd = parse(read("crds/kvraftscheduledbackup.yaml")) as Crd;
const version = crd.spec.versions[0] as Crd["spec"]["versions"][number];
const root = version.schema.openAPIV3Schema;
const prop = (schema: Schema, ...path: string[]): Schema => path.reduce<Schema>((s, key) => s.properties?.[key] as Schema, schema);

const example = parse(read("examples/scheduled-backup.yaml")) as KVRaftScheduledBackup;
const cluster = parse(read("examples/cluster.yaml")) as KVRaftCluster;
const served = (object: KVRaftScheduledBackup): KVRaftScheduledBackup => ({ ...object, metadata: { ...object.metadata, namespace: "default", uid: "s-uid", generation: 1 } });
const T0 = Date.UTC(2026, 11, 1, 3);

describe("the KVRaftScheduledBackup CRD", () => {
  it("names the resource as the operator's code does, with a status subresource and the columns of kubectl get", () => {
    expect(crd.metadata.name).toBe(`${SCHEDULED_BACKUP_PLURAL}.${API_GROUP}`);
    expect(crd.spec).toMatchObject({ group: API_GROUP, scope: "Namespaced", names: { kind: SCHEDULED_BACKUP_KIND, plural: SCHEDULED_BACKUP_PLURAL, shortNames: ["kvrsb"] } });
    expect(crd.spec.versions.map((v) => v.name)).toEqual([API_VERSION]);
    expect(version.subresources).toEqual({ status: {} });
    const columns = Object.fromEntries(version.additionalPrinterColumns.map((c) => [c.name, c.jsonPath]));
    expect(columns).toMatchObject({ "Schedule": ".spec.schedule", "Last Schedule": ".status.lastScheduleTime", "Last Backup": ".status.lastBackup", "Phase": ".status.lastBackupPhase" });
  });

  it("bounds retention and the name as the code does", () => {
    const retention = prop(root, "spec", "retention");
    expect(prop(retention, "count")).toMatchObject({ minimum: RETENTION_COUNT_MIN, maximum: RETENTION_COUNT_MAX, default: RETENTION_COUNT_DEFAULT });
    expect(prop(retention, "failedCount")).toMatchObject({ minimum: 0, maximum: FAILED_KEPT_COUNT_MAX, default: FAILED_KEPT_COUNT_DEFAULT });
    expect(root["x-kubernetes-validations"]?.[0]?.rule).toBe(`size(self.metadata.name) <= ${SCHEDULED_BACKUP_NAME_CHARS_MAX}`);
    // The longest name's backups and their Jobs fit: a Job's name is a 63-character label value.
    const longest = served({ ...example, metadata: { name: "n".repeat(SCHEDULED_BACKUP_NAME_CHARS_MAX) } });
    // Unix seconds keep 10 digits until the year 2286.
    const backup = slotBackup(longest, slotBackupName(longest.metadata.name, Date.UTC(2286, 0, 1) - 1000), T0);
    expect(backupJobName(backup).length).toBeLessThanOrEqual(63);
    expect(pruneJobName(backup).length).toBeLessThanOrEqual(63);
  });

  it("takes the example, whose backups and prune Jobs are made for examples/cluster.yaml's cluster", () => {
    expect(schemaProblems({ ...example, metadata: {} } as unknown as Record<string, unknown>, root)).toEqual([]);
    expect(schemaProblems({ ...example, metadata: {}, spec: { ...example.spec, retention: { keep: 3 } } } as unknown as Record<string, unknown>, root)).toEqual([".spec.retention.keep: not in the schema"]);
    expect(example.spec.cluster).toBe(cluster.metadata.name);
    const plan = planSchedule({ nowMs: T0 + 1000, spec: example.spec, createdMs: T0 - 1000, backups: [] }, example.metadata.name);
    expect(plan.valid && plan.slot?.action).toBe("create");
    const made = slotBackup(served(example), slotBackupName(example.metadata.name, T0), T0);
    const backup = { ...made, metadata: { ...made.metadata, uid: "b-uid" } };
    expect(backup).toMatchObject({ kind: BACKUP_KIND, spec: { cluster: "example", target: { claimName: "kvraft-backups", path: `example/nightly/example-nightly-${T0 / 1000}.kvbackup` } } });
    const clusterServed = { ...cluster, metadata: { ...cluster.metadata, namespace: "default" } };
    expect(JSON.stringify(backupJob(backup, clusterServed))).toContain(`/backup/example/nightly/example-nightly-${T0 / 1000}.kvbackup`);
    const prune = pruneJob(served(example), backup, clusterServed) as unknown as { spec: { ttlSecondsAfterFinished: number; template: { spec: { containers: { image: string; args: string[] }[] } } } };
    expect(prune.spec.template.spec.containers[0]).toMatchObject({ image: cluster.spec.image, args: ["backup", "remove", `/backup/example/nightly/example-nightly-${T0 / 1000}.kvbackup`] });
    expect(prune.spec.ttlSecondsAfterFinished).toBeGreaterThan(0);
  });

  it("has a status schema that holds every status the operator writes, a failed prune's included", () => {
    const plan = planSchedule({ nowMs: T0 + 1000, spec: example.spec, createdMs: T0 - 1000, backups: [] }, example.metadata.name);
    const failedPrunes = Array.from({ length: 9 }, (_, i) => ({ job: `j${i}-prune`, file: `kvraft-backups:${"p/".repeat(500)}f${i}.kvbackup` }));
    const status = scheduledBackupStatus({ previous: undefined, plan, backups: [{ name: "example-nightly-1", slotMs: T0, phase: "Completed" }], failedPrunes, generation: 2, nowMs: T0 });
    expect(schemaProblems(status, prop(root, "status"))).toEqual([]);
    const filesRemoved = status.conditions?.find((c) => c.type === "FilesRemoved");
    expect(filesRemoved).toMatchObject({ status: "False", reason: "PruneJobFailed" });
    expect(filesRemoved?.message.length).toBeLessThanOrEqual(CONDITION_MESSAGE_CHARS_MAX);
    expect(Object.keys(status).sort()).toEqual(Object.keys(prop(root, "status").properties ?? {}).filter((k) => k !== "lastCompletedBackup" || status.lastCompletedBackup !== undefined).sort());
  });
});

describe("the scheduled backup's status", () => {
  const spec = { cluster: "kv", schedule: "0 * * * *", target: { claimName: "b" } };
  const plan = planSchedule({ nowMs: T0 + 1000, spec, createdMs: T0 - 1000, backups: [] }, "s");

  it("names the newest backup and the newest completed one, and the slots", () => {
    const status = scheduledBackupStatus({
      previous: undefined, plan, failedPrunes: [], nowMs: T0 + 1000,
      backups: [{ name: "s-2", slotMs: T0 - 3_600_000, phase: "Completed" }, { name: "s-3", slotMs: T0 }, { name: "s-1", slotMs: T0 - 7_200_000, phase: "Completed" }],
    });
    expect(status).toMatchObject({
      lastBackup: "s-3", lastBackupPhase: "Pending", lastCompletedBackup: "s-2",
      lastScheduleTime: new Date(T0).toISOString(), lastSlotTime: new Date(T0).toISOString(), nextScheduleTime: new Date(T0 + 3_600_000).toISOString(),
    });
  });

  it("keeps a condition's transition time while it holds, and says why pruning waits", () => {
    const first = scheduledBackupStatus({ previous: undefined, plan, backups: [], failedPrunes: [], nowMs: T0 });
    const later = scheduledBackupStatus({ previous: first, plan, backups: [], failedPrunes: [], nowMs: T0 + 60_000, pruneBlocked: "2 backups wait to be pruned: KVRaftCluster kv does not exist" });
    expect(later.conditions?.find((c) => c.type === "ScheduleValid")?.lastTransitionTime).toBe(new Date(T0).toISOString());
    expect(later.conditions?.find((c) => c.type === "FilesRemoved")).toMatchObject({ status: "False", reason: "PruneWaiting", lastTransitionTime: new Date(T0 + 60_000).toISOString() });
  });
});
