/**
 * A KVRaftScheduledBackup's status from its plan and its backups, as a pure function: the
 * controller reads, plans, acts, then writes what this returns.
 */
import type { OwnedBackup, SchedulePlan } from "./scheduled-backup-plan.js";
import type { ScheduledBackupCondition, ScheduledBackupStatus } from "./scheduled-backup-types.js";

/** A condition's message is cut to this many characters (the CRD's maxLength): it names paths of up to 1024. */
export const CONDITION_MESSAGE_CHARS_MAX = 2048;
/** Failed prune Jobs named in the FilesRemoved condition; the rest are counted. */
const FAILED_PRUNES_NAMED_MAX = 5;

/** A prune Job that failed: the file it was to remove is still in the claim. */
export interface FailedPrune {
  readonly job: string;
  /** claim:path */
  readonly file: string;
}

export interface StatusInputs {
  readonly previous: ScheduledBackupStatus | undefined;
  readonly plan: SchedulePlan;
  /** Backups after this reconcile's actions (made ones in, pruned ones out). */
  readonly backups: readonly OwnedBackup[];
  readonly failedPrunes: readonly FailedPrune[];
  /** Why pruning could not be done this time (the cluster is gone, so no image for the Job), if so. */
  readonly pruneBlocked?: string;
  readonly generation?: number;
  readonly nowMs: number;
}

export function scheduledBackupStatus(input: StatusInputs): ScheduledBackupStatus {
  const { previous, plan } = input;
  const iso = (ms: number): string => new Date(ms).toISOString();
  const newestFirst = [...input.backups].sort((a, b) => b.slotMs - a.slotMs);
  const last = newestFirst[0];
  const lastCompleted = newestFirst.find((b) => b.phase === "Completed");
  const made = plan.valid && plan.slot?.action === "create" ? plan.slot.slotMs : undefined;
  const lastScheduleTime = made === undefined ? previous?.lastScheduleTime : iso(made);
  const slotFields = plan.valid
    ? { lastSlotTime: iso(plan.lastSlotMs), ...(plan.nextSlotMs === undefined ? {} : { nextScheduleTime: iso(plan.nextSlotMs) }) }
    : (previous?.lastSlotTime === undefined ? {} : { lastSlotTime: previous.lastSlotTime });
  return {
    ...(lastScheduleTime === undefined ? {} : { lastScheduleTime }),
    ...slotFields,
    ...(last === undefined ? {} : { lastBackup: last.name, lastBackupPhase: last.phase ?? "Pending" }),
    ...(lastCompleted === undefined ? {} : { lastCompletedBackup: lastCompleted.name }),
    conditions: conditions(input, iso(input.nowMs)),
    ...(input.generation === undefined ? {} : { observedGeneration: input.generation }),
  };
}

function conditions(input: StatusInputs, now: string): ScheduledBackupCondition[] {
  const make = (type: ScheduledBackupCondition["type"], on: boolean, reason: string, message: string): ScheduledBackupCondition => {
    const status = on ? "True" : "False";
    const before = input.previous?.conditions?.find((c) => c.type === type);
    return {
      type, status, reason, message: message.length <= CONDITION_MESSAGE_CHARS_MAX ? message : `${message.slice(0, CONDITION_MESSAGE_CHARS_MAX - 1)}…`,
      lastTransitionTime: before !== undefined && before.status === status ? before.lastTransitionTime : now,
      ...(input.generation === undefined ? {} : { observedGeneration: input.generation }),
    };
  };
  const plan = input.plan;
  return [
    plan.valid
      ? make("ScheduleValid", true, "Parsed", "the schedule and retention are valid")
      : make("ScheduleValid", false, "InvalidSchedule", `${plan.problem}: no backups are made until spec is fixed; pruning goes on`),
    filesRemoved(input, make),
  ];
}

function filesRemoved(input: StatusInputs, make: (type: "FilesRemoved", on: boolean, reason: string, message: string) => ScheduledBackupCondition): ScheduledBackupCondition {
  if (input.failedPrunes.length > 0) {
    const named = input.failedPrunes.slice(0, FAILED_PRUNES_NAMED_MAX).map((p) => `${p.file} (Job ${p.job})`).join(", ");
    const more = input.failedPrunes.length > FAILED_PRUNES_NAMED_MAX ? ` and ${input.failedPrunes.length - FAILED_PRUNES_NAMED_MAX} more` : "";
    return make("FilesRemoved", false, "PruneJobFailed",
      `pruned backups whose files are still in their claim: ${named}${more}. Read the Job's pod log; remove the file with a pod that mounts the claim (kvraft backup remove FILE), then delete the Job`);
  }
  if (input.pruneBlocked !== undefined) return make("FilesRemoved", false, "PruneWaiting", input.pruneBlocked);
  return make("FilesRemoved", true, "Pruned", "every pruned backup's file was removed (or is being removed) by a prune Job");
}
