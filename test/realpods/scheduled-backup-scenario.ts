/**
 * Scenario 13 (issue 20): the KVRaftScheduledBackup of examples/scheduled-backup.yaml,
 * with a slot every 20 seconds and a retention of 2, runs on its schedule in real pods:
 * each slot's KVRaftBackup is a real Job writing into the claim, and once a third has
 * completed, the oldest is pruned, its object deleted and its file removed by a prune Job.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import { parse } from "yaml";
import type { DevCluster } from "../../src/devcluster/dev-cluster.js";
import type { KVRaftBackup } from "../../src/operator/backup-types.js";
import type { KVRaftScheduledBackup } from "../../src/operator/scheduled-backup-types.js";
import { REPO_ROOT } from "../chart/chart-render.js";
import { waitFor } from "../support/wait.js";
import { applyBackupClaim, BACKUP_CLAIM, claimFolder, type Kubectl, verifyBackupFile } from "./backup-scenarios.js";
import { NAMESPACE } from "./scenario-support.js";

export const SCHEDULE = "example-frequent";
/** Six fields, seconds first: a slot every 20 s, so that three backups are made in about a minute. */
const SCHEDULE_CRON = "*/20 * * * * *";
const PATH_PREFIX = "example/frequent";
const RETENTION_COUNT = 2;
/** Completed backups waited for: one more than are kept, so that one is pruned. */
const COMPLETED_WANTED = RETENTION_COUNT + 1;
/** From the last backup made to every prune Job finished, after the schedule is suspended. */
const SETTLE_TIMEOUT_MS = 120_000;

interface JobJson { metadata: { name: string }; status?: { succeeded?: number; failed?: number; conditions?: { type: string; status: string }[] } }

/** examples/scheduled-backup.yaml as a user would adapt it: another name, a short schedule, a small retention. */
function frequentSchedule(): KVRaftScheduledBackup {
  const example = parse(readFileSync(join(REPO_ROOT, "examples", "scheduled-backup.yaml"), "utf8")) as KVRaftScheduledBackup;
  return {
    ...example,
    metadata: { name: SCHEDULE, namespace: NAMESPACE },
    spec: { ...example.spec, schedule: SCHEDULE_CRON, target: { ...example.spec.target, claimName: BACKUP_CLAIM, pathPrefix: PATH_PREFIX }, retention: { count: RETENTION_COUNT } },
  };
}

async function scheduleBackups(dev: DevCluster): Promise<KVRaftBackup[]> {
  return (await dev.controlPlane.getJson<{ items: KVRaftBackup[] }>(["get", "kvraftbackups", "-n", NAMESPACE, "-l", `kvraft.io/scheduled-backup=${SCHEDULE}`, "-o", "json"])).items;
}

async function pruneJobs(dev: DevCluster): Promise<JobJson[]> {
  return (await dev.controlPlane.getJson<{ items: JobJson[] }>(["get", "jobs", "-n", NAMESPACE, "-l", `kvraft.io/scheduled-backup=${SCHEDULE},kvraft.io/job=prune`, "-o", "json"])).items;
}

/** A slot's backup is named NAME-<slot in Unix seconds>: newest first by that number. */
const slotSeconds = (name: string): number => Number(name.slice(SCHEDULE.length + 1));
const newestFirst = (names: Iterable<string>): string[] => [...names].sort((a, b) => slotSeconds(b) - slotSeconds(a));

/**
 * Applies the schedule, waits for COMPLETED_WANTED completed backups, suspends it (pruning
 * goes on) and waits for it to settle; then only the newest RETENTION_COUNT backups are
 * left, as objects and as files, each file sound. Returns the figures.
 */
export async function scheduledBackupsPruned(dev: DevCluster, kubectl: Kubectl, timeoutMs: number): Promise<string> {
  await applyBackupClaim(kubectl);
  const startedAt = Date.now();
  await kubectl(["apply", "-f", "-"], JSON.stringify(frequentSchedule()));
  const completed = new Set<string>();
  const failed = new Set<string>();
  const observe = (backups: readonly KVRaftBackup[]): void => {
    for (const backup of backups) {
      if (backup.status?.phase === "Completed") completed.add(backup.metadata.name);
      if (backup.status?.phase === "Failed") failed.add(`${backup.metadata.name}: ${backup.status.message ?? ""}`);
    }
  };
  // A failed backup ends the wait at once: nothing in this scenario should make one fail.
  const healthy = (): void => {
    dev.assertHealthy();
    if (failed.size > 0) throw new Error(`a scheduled backup failed: ${[...failed].join("; ")}`);
  };
  await waitFor(`${COMPLETED_WANTED} backups of ${SCHEDULE} Completed`, async () => {
    observe(await scheduleBackups(dev));
    return completed.size >= COMPLETED_WANTED || undefined;
  }, timeoutMs, 1_000, healthy);
  const madeS = (Date.now() - startedAt) / 1000;
  // Suspended, so that what is kept can be compared with everything that was made.
  await kubectl(["patch", "kvraftscheduledbackup", SCHEDULE, "-n", NAMESPACE, "--type", "merge", "-p", JSON.stringify({ spec: { suspend: true } })]);
  const settled = await waitFor(`${SCHEDULE} settled: no backup unfinished, every prune Job finished`, async () => {
    const backups = await scheduleBackups(dev);
    observe(backups);
    if (backups.some((b) => b.status?.phase !== "Completed" && b.status?.phase !== "Failed")) return undefined;
    const jobs = await pruneJobs(dev);
    const failedJob = jobs.find((j) => (j.status?.conditions ?? []).some((c) => c.type === "Failed" && c.status === "True"));
    if (failedJob !== undefined) throw new Error(`prune Job ${failedJob.metadata.name} failed`);
    const kept = backups.filter((b) => b.status?.phase === "Completed").map((b) => b.metadata.name);
    const done = jobs.length === completed.size - RETENTION_COUNT && jobs.every((j) => (j.status?.succeeded ?? 0) > 0);
    return kept.length === RETENTION_COUNT && done ? { kept, jobs } : undefined;
  }, SETTLE_TIMEOUT_MS, 1_000, healthy);
  const wantKept = newestFirst(completed).slice(0, RETENTION_COUNT);
  const wantPruned = newestFirst(completed).slice(RETENTION_COUNT);
  expect(newestFirst(settled.kept)).toEqual(wantKept);
  expect(settled.jobs.map((j) => j.metadata.name).sort()).toEqual(wantPruned.map((name) => `${name}-prune`).sort());
  // The files: the kept ones only (no pruned file, no partial one), each sound and as its status says.
  const folder = join(await claimFolder(kubectl, BACKUP_CLAIM), PATH_PREFIX);
  expect(readdirSync(folder).sort()).toEqual(wantKept.map((name) => `${name}.kvbackup`).sort());
  const backups = await scheduleBackups(dev);
  const revisions: number[] = [];
  for (const name of wantKept) {
    const status = backups.find((b) => b.metadata.name === name)?.status;
    const verified = await verifyBackupFile(join(folder, `${name}.kvbackup`));
    expect(verified).toMatchObject({ verified: true, revision: status?.revision, fileBytes: status?.sizeBytes });
    revisions.push(verified.revision);
  }
  const status = (await dev.controlPlane.getJson<KVRaftScheduledBackup>(["get", "kvraftscheduledbackup", SCHEDULE, "-n", NAMESPACE, "-o", "json"])).status;
  expect(status?.lastCompletedBackup).toBe(wantKept[0]);
  return `schedule "${SCHEDULE_CRON}", retention ${RETENTION_COUNT}: ${completed.size} backups Completed in ${madeS.toFixed(1)} s; ` +
    `${wantPruned.length} pruned (${wantPruned.join(", ")}: object and file gone); kept ${wantKept.join(", ")} (revisions ${revisions.join(", ")}), both files verify`;
}
