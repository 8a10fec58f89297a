import type { BackupPhase, BackupStatus, KVRaftBackup } from "./backup-types.js";
import { backupPath } from "./desired/backup-job.js";

/** What the controller read of a backup's Job (from the Job's status), as plain data. */
export interface BackupJobView {
  readonly conditions: readonly { readonly type: string; readonly status: string; readonly reason?: string; readonly message?: string }[];
  /** Pods running now. */
  readonly active: number;
  readonly startTime?: string;
  readonly completionTime?: string;
}

/** What `kvraft backup take --termination-message-path` writes, as far as it is well-formed. */
export interface TakeOutcome {
  readonly phase: "Completed" | "Failed";
  readonly fileBytes?: number;
  readonly revision?: number;
  readonly raftIndex?: number;
  readonly raftTerm?: number;
  readonly clusterId?: string;
  readonly durationMs?: number;
  readonly message?: string;
}

/** A status message is cut to this many characters: it is for a person, and Kubernetes objects have a size limit. */
export const BACKUP_MESSAGE_CHARS_MAX = 1024;

/**
 * A container's termination message, read as `backup take`'s outcome: the fields that are
 * what they should be, the rest dropped. Undefined when it is not such an outcome at all
 * (empty, not JSON, no phase): the message comes from a container and is checked here.
 */
export function parseTakeOutcome(text: string | undefined): TakeOutcome | undefined {
  if (text === undefined || text.trim() === "") return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null) return undefined;
  const fields = parsed as Record<string, unknown>;
  if (fields["phase"] !== "Completed" && fields["phase"] !== "Failed") return undefined;
  const count = (name: string): Record<string, number> => {
    const value = fields[name];
    return typeof value === "number" && Number.isSafeInteger(value) && value >= 0 ? { [name]: value } : {};
  };
  const boundedText = (name: string, max: number): Record<string, string> => {
    const value = fields[name];
    return typeof value === "string" ? { [name]: value.slice(0, max) } : {};
  };
  return {
    phase: fields["phase"],
    ...count("fileBytes"), ...count("revision"), ...count("raftIndex"), ...count("raftTerm"), ...count("durationMs"),
    ...boundedText("clusterId", 256), ...boundedText("message", BACKUP_MESSAGE_CHARS_MAX),
  };
}

/**
 * The backup's status from its Job and the last termination message of the Job's pods:
 * Completed and Failed are the Job's own conditions (a backup counts as taken only when
 * the Job says its pod succeeded, and `take` exits 0 only with the file renamed into
 * place), details come from the termination message. A finished backup keeps its status
 * for good, even once its Job is gone.
 */
export function backupStatus(backup: KVRaftBackup, job: BackupJobView | undefined, terminationMessage: string | undefined, waitingFor?: string): BackupStatus {
  const previous = backup.status;
  if (previous?.phase === "Completed" || previous?.phase === "Failed") return previous;
  const base = {
    claimName: backup.spec.target.claimName, path: backupPath(backup),
    ...(backup.metadata.generation === undefined ? {} : { observedGeneration: backup.metadata.generation }),
  };
  if (job === undefined) return { ...base, phase: "Pending", message: clip(waitingFor ?? "creating the backup Job") };
  const outcome = parseTakeOutcome(terminationMessage);
  const times = { ...(job.startTime === undefined ? {} : { startTime: job.startTime }), ...(job.completionTime === undefined ? {} : { completionTime: job.completionTime }) };
  const finished = finishedPhase(job);
  if (finished === "Completed") {
    const details = outcome?.phase === "Completed" ? outcomeFields(outcome) : {};
    const message = outcome?.phase === "Completed" ? outcome.message ?? "backup taken" : "the Job succeeded but left no termination message: check the file with kvraft backup verify";
    return { ...base, ...times, ...details, phase: "Completed", message: clip(message) };
  }
  if (finished !== undefined) {
    const condition = failedCondition(job);
    const why = outcome?.phase === "Failed" && outcome.message !== undefined ? outcome.message : `${condition?.reason ?? "Failed"}: ${condition?.message ?? "the Job failed"}`;
    return { ...base, ...times, ...(outcome?.durationMs === undefined ? {} : { durationMs: outcome.durationMs }), phase: "Failed", message: clip(why) };
  }
  if (job.active > 0) {
    const retry = outcome?.phase === "Failed" && outcome.message !== undefined ? `; a previous try failed: ${outcome.message}` : "";
    return { ...base, ...times, phase: "Running", message: clip(`taking the backup${retry}`) };
  }
  return { ...base, ...times, phase: "Pending", message: clip(waitingFor ?? "waiting for the backup Job's pod to start") };
}

/** Completed or Failed once the Job says so (its own conditions), else undefined. */
export function finishedPhase(job: BackupJobView): Extract<BackupPhase, "Completed" | "Failed"> | undefined {
  const isTrue = (type: string): boolean => job.conditions.some((c) => c.type === type && c.status === "True");
  if (isTrue("Complete")) return "Completed";
  if (isTrue("Failed")) return "Failed";
  return undefined;
}

export function failedCondition(job: BackupJobView): BackupJobView["conditions"][number] | undefined {
  return job.conditions.find((c) => c.type === "Failed" && c.status === "True");
}

function outcomeFields(outcome: TakeOutcome): Partial<BackupStatus> {
  return {
    ...(outcome.fileBytes === undefined ? {} : { sizeBytes: outcome.fileBytes }),
    ...(outcome.revision === undefined ? {} : { revision: outcome.revision }),
    ...(outcome.raftIndex === undefined ? {} : { raftIndex: outcome.raftIndex }),
    ...(outcome.raftTerm === undefined ? {} : { raftTerm: outcome.raftTerm }),
    ...(outcome.clusterId === undefined ? {} : { clusterId: outcome.clusterId }),
    ...(outcome.durationMs === undefined ? {} : { durationMs: outcome.durationMs }),
  };
}

/** A message cut to BACKUP_MESSAGE_CHARS_MAX characters. */
export function clip(message: string): string {
  return message.length <= BACKUP_MESSAGE_CHARS_MAX ? message : `${message.slice(0, BACKUP_MESSAGE_CHARS_MAX - 1)}…`;
}

/** The parts of a Job's status the backup's status is made from. */
export function jobViewOf(job: Readonly<Record<string, unknown>>): BackupJobView {
  const status = (job["status"] ?? {}) as { conditions?: unknown; active?: unknown; startTime?: unknown; completionTime?: unknown };
  const conditions = Array.isArray(status.conditions) ? status.conditions.filter((c): c is BackupJobView["conditions"][number] =>
    typeof c === "object" && c !== null && typeof (c as { type?: unknown }).type === "string" && typeof (c as { status?: unknown }).status === "string") : [];
  return {
    conditions, active: typeof status.active === "number" ? status.active : 0,
    ...(typeof status.startTime === "string" ? { startTime: status.startTime } : {}),
    ...(typeof status.completionTime === "string" ? { completionTime: status.completionTime } : {}),
  };
}

/** The termination message of `container` in the pod that finished last, if any pod of the Job has finished. */
export function lastTerminationMessage(pods: readonly { readonly status?: unknown }[], container: string): string | undefined {
  let latest: { at: string; message: string } | undefined;
  for (const pod of pods) {
    const statuses = (pod.status as { containerStatuses?: { name?: unknown; state?: { terminated?: { finishedAt?: unknown; message?: unknown } } }[] } | undefined)?.containerStatuses ?? [];
    for (const status of statuses) {
      const terminated = status.state?.terminated;
      if (status.name !== container || terminated === undefined || typeof terminated.message !== "string") continue;
      const at = typeof terminated.finishedAt === "string" ? terminated.finishedAt : "";
      if (latest === undefined || at > latest.at) latest = { at, message: terminated.message };
    }
  }
  return latest?.message;
}
