import type { BackupJobView } from "./backup-status.js";
import { clip, failedCondition, finishedPhase, parseTakeOutcome } from "./backup-status.js";
import type { KVRaftBackup } from "./backup-types.js";
import type { BootstrapPhase, BootstrapStatus, FromBackupSpec } from "./bootstrap-types.js";
import { backupPathProblem } from "./desired/backup-job.js";
import type { RestoreSource } from "./desired/restore-job.js";
import { makeCondition } from "./status.js";
import type { ClusterPhase, ClusterStatus, Condition, KVRaftCluster } from "./types.js";

/** Where spec.bootstrap.fromBackup points, once known; or why the restore waits or cannot be. */
export type SourceResolution =
  | { readonly kind: "ready"; readonly source: RestoreSource; readonly backupName?: string }
  | { readonly kind: "waiting" | "refused"; readonly message: string; readonly backupName?: string };

/**
 * The claim and path to restore from: given directly, or read off a KVRaftBackup's status
 * (`backup`, undefined when it does not exist). A backup still running is waited for; a
 * failed one is refused, as is a path that would leave the claim.
 */
export function resolveSource(from: FromBackupSpec, backup: KVRaftBackup | undefined, namespace: string): SourceResolution {
  const checked = (source: RestoreSource, backupName?: string): SourceResolution => {
    const problem = backupPathProblem(source.path);
    const named = backupName === undefined ? {} : { backupName };
    if (problem !== undefined) return { kind: "refused", message: `the backup's path ${problem}`, ...named };
    return { kind: "ready", source, ...named };
  };
  const name = from.backupName;
  if (name === undefined) {
    if (from.claimName === undefined || from.path === undefined) {
      return { kind: "refused", message: "spec.bootstrap.fromBackup names neither a backupName nor a claimName and a path" };
    }
    return checked({ claimName: from.claimName, path: from.path });
  }
  if (backup === undefined) {
    return { kind: "waiting", backupName: name, message: `KVRaftBackup ${name} does not exist in ${namespace}: waiting for it (or make this cluster again from another backup)` };
  }
  const status = backup.status;
  if (status?.phase === "Failed") return { kind: "refused", backupName: name, message: `KVRaftBackup ${name} failed: ${status.message ?? "no message"}` };
  if (status?.phase !== "Completed" || status.claimName === undefined || status.path === undefined) {
    return { kind: "waiting", backupName: name, message: `KVRaftBackup ${name} is ${status?.phase ?? "Pending"}: waiting for it to complete` };
  }
  return checked({ claimName: status.claimName, path: status.path }, name);
}

/**
 * The bootstrap's state from the restore Job and its container's termination message
 * (`kvraft backup restore --termination-message-path` writes the same JSON shape as
 * `backup take`: phase, revision, clusterId of the source, message).
 */
export function restoreProgress(resolved: Extract<SourceResolution, { kind: "ready" }>, job: BackupJobView | undefined, terminationMessage: string | undefined): BootstrapStatus {
  const base = { ...(resolved.backupName === undefined ? {} : { backupName: resolved.backupName }), claimName: resolved.source.claimName, path: resolved.source.path };
  const where = `${resolved.source.claimName}:${resolved.source.path}`;
  if (job === undefined) return { ...base, phase: "Restoring", message: `starting the Job that restores ${where}` };
  const outcome = parseTakeOutcome(terminationMessage);
  const finished = finishedPhase(job);
  if (finished === "Completed") {
    return {
      ...base, phase: "Restored",
      ...(outcome?.revision === undefined ? {} : { revision: outcome.revision }),
      ...(outcome?.clusterId === undefined ? {} : { sourceClusterId: outcome.clusterId }),
      message: clip(`member 1 starts from ${where}${outcome?.revision === undefined ? "" : ` at revision ${outcome.revision}`}; the others join it as learners`),
    };
  }
  if (finished === "Failed") {
    const condition = failedCondition(job);
    const why = outcome?.phase === "Failed" && outcome.message !== undefined ? outcome.message : `${condition?.reason ?? "Failed"}: ${condition?.message ?? "the restore Job failed"}`;
    return { ...base, phase: "Refused", message: clip(`${why}. ${NOTHING_STARTED}`) };
  }
  return { ...base, phase: "Restoring", message: `checking ${where} whole and writing member 1's data from it` };
}

/** The bootstrap's state when the source is not there yet, or cannot be restored from. */
export function unresolvedProgress(resolved: Exclude<SourceResolution, { kind: "ready" }>): BootstrapStatus {
  const named = resolved.backupName === undefined ? {} : { backupName: resolved.backupName };
  if (resolved.kind === "waiting") return { ...named, phase: "Waiting", message: clip(resolved.message) };
  return { ...named, phase: "Refused", message: clip(`${resolved.message}. ${NOTHING_STARTED}`) };
}

const NOTHING_STARTED = "No member was started; make the cluster again from a sound backup (kvraft backup verify checks one)";

/** What each bootstrap phase makes of the cluster's phase and its Bootstrapped condition's reason. */
const PHASES: Readonly<Record<BootstrapPhase, { readonly cluster: ClusterPhase; readonly reason: string }>> = {
  Waiting: { cluster: "Pending", reason: "WaitingForBackup" },
  Restoring: { cluster: "Pending", reason: "RestoringFromBackup" },
  Restored: { cluster: "Creating", reason: "RestoredFromBackup" },
  Refused: { cluster: "Failed", reason: "BackupRefused" },
};

/** The condition reason of a bootstrap phase (also the Event's reason on the way there). */
export function bootstrapReason(phase: BootstrapPhase): string {
  return PHASES[phase].reason;
}

/**
 * The cluster's status while the bootstrap holds it back (no StatefulSet yet): the phase,
 * a Bootstrapped condition that says where the restore is, and the bootstrap's state.
 * Other fields and conditions are kept as they were.
 */
export function bootstrapClusterStatus(cluster: KVRaftCluster, bootstrap: BootstrapStatus, now: string): ClusterStatus {
  const previous = cluster.status ?? {};
  const generation = cluster.metadata.generation;
  const { cluster: phase, reason } = PHASES[bootstrap.phase];
  const message = bootstrap.message ?? reason;
  const at = { previous: previous.conditions ?? [], generation, now };
  const holding = bootstrap.phase !== "Restored";
  const conditions: Condition[] = [
    makeCondition("Bootstrapped", !holding, reason, message, at),
    // Until the restore is done no member runs: not available, and why.
    ...(holding ? [makeCondition("Available", false, reason, message, at), makeCondition("Progressing", bootstrap.phase !== "Refused", reason, message, at)] : []),
  ];
  const kept = at.previous.filter((c) => !conditions.some((made) => made.type === c.type));
  return {
    ...previous,
    ...(generation === undefined ? {} : { observedGeneration: generation }),
    phase, reason: message, conditions: [...kept, ...conditions], bootstrap,
  };
}
