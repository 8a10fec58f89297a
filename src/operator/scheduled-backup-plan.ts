/**
 * What a KVRaftScheduledBackup should do now, as a pure function of the time and of what
 * exists: make a backup for the latest slot, skip it (one is still running), miss it (too
 * late), and which finished backups to prune. No clock, no API: the controller reads the
 * world, calls planSchedule, and carries out what comes back.
 */
import { CronExpressionParser } from "cron-parser";
import type { BackupPhase } from "./backup-types.js";
import { FAILED_KEPT_COUNT_DEFAULT, RETENTION_COUNT_DEFAULT, type ScheduledBackupSpec } from "./scheduled-backup-types.js";

/** Slots counted between the last one decided on and now, for the message only; beyond it, "more than". */
export const MISSED_SLOTS_COUNTED_MAX = 1000;
/** Backups pruned in one reconcile: the rest wait for the next one, so one reconcile stays short. */
export const PRUNES_PER_RECONCILE_MAX = 10;

/** One backup this schedule made, as the plan needs it. */
export interface OwnedBackup {
  readonly name: string;
  /** The slot it was made for. */
  readonly slotMs: number;
  /** Undefined: the backup controller has not written a status yet (it is about to start). */
  readonly phase?: BackupPhase;
  /** When it completed or failed; its age for retention (its slot when unknown). */
  readonly finishedMs?: number;
}

export interface ScheduleInput {
  readonly nowMs: number;
  readonly spec: ScheduledBackupSpec;
  /** When the scheduled backup was created: no slot before it is ever run. */
  readonly createdMs: number;
  /** status.lastSlotTime: slots up to it have been decided on. */
  readonly lastSlotMs?: number;
  readonly backups: readonly OwnedBackup[];
}

/** What to do with the latest slot that has come, if one has come since the last decision. */
export type SlotDecision =
  | { readonly action: "create"; readonly slotMs: number; readonly name: string; readonly slotsPassed: number; readonly slotsPassedMore: boolean }
  /** A backup of this name exists: made before a restart that lost the status write. */
  | { readonly action: "exists"; readonly slotMs: number; readonly name: string }
  | { readonly action: "skip"; readonly slotMs: number; readonly running: string }
  | { readonly action: "miss"; readonly slotMs: number; readonly lateMs: number }
  | { readonly action: "suspended"; readonly slotMs: number };

export interface PruneChoice {
  readonly name: string;
  readonly why: string;
}

export type SchedulePlan =
  | { readonly valid: false; readonly problem: string; readonly prune: readonly PruneChoice[] }
  | {
    readonly valid: true;
    readonly slot?: SlotDecision;
    /** The new status.lastSlotTime. */
    readonly lastSlotMs: number;
    readonly nextSlotMs?: number;
    readonly prune: readonly PruneChoice[];
  };

/** Why `schedule` is not one this operator runs, or undefined. Fields are counted here: the library takes fewer as a shorthand, which would surprise. */
export function scheduleProblem(schedule: string): string | undefined {
  const trimmed = schedule.trim();
  const fields = trimmed.split(/\s+/).length;
  if (!trimmed.startsWith("@") && fields !== 5 && fields !== 6) {
    return `schedule "${schedule}" has ${fields} fields: give five (minute hour day-of-month month day-of-week, for example "0 3 * * *"), six with seconds first, or @daily and the like`;
  }
  try {
    const expression = CronExpressionParser.parse(trimmed, { tz: "UTC", currentDate: new Date(0) });
    expression.next();
    return undefined;
  } catch (error) {
    return `schedule "${schedule}" does not parse: ${(error as Error).message}`;
  }
}

/** spec.retention.maxAge ("90m", "36h", "30d") in ms; undefined when it is not of that form. */
export function maxAgeMs(text: string): number | undefined {
  const match = /^([0-9]{1,6})(m|h|d)$/.exec(text);
  if (match === null) return undefined;
  const unitMs = { m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as "m" | "h" | "d"];
  return Number(match[1]) * unitMs;
}

/** A slot's backup: named after the scheduled backup and the slot in Unix seconds, so one slot has one name. */
export function slotBackupName(scheduleName: string, slotMs: number): string {
  return `${scheduleName}-${Math.floor(slotMs / 1000)}`;
}

/**
 * The decision. The latest slot that has come since the last one decided on (or since the
 * object was created) is the only one considered: after a long outage a backup is made
 * once, not once per slot passed (as a CronJob does). With a starting deadline, a slot
 * found too late is missed. Forbid, as a CronJob's concurrencyPolicy: a slot that comes
 * while a backup of this schedule is still unfinished is skipped.
 */
export function planSchedule(input: ScheduleInput, scheduleName: string): SchedulePlan {
  const prune = pruneChoices(input);
  const problem = scheduleProblem(input.spec.schedule) ?? retentionProblem(input.spec);
  if (problem !== undefined) return { valid: false, problem, prune };
  const after = Math.max(input.createdMs, input.lastSlotMs ?? Number.NEGATIVE_INFINITY);
  const latest = latestSlotAtOrBefore(input.spec.schedule, input.nowMs);
  const nextSlotMs = slotAfter(input.spec.schedule, input.nowMs);
  const base = { valid: true as const, prune, ...(nextSlotMs === undefined ? {} : { nextSlotMs }) };
  if (latest === undefined || latest <= after) return { ...base, lastSlotMs: after };
  return { ...base, lastSlotMs: latest, slot: decideSlot(input, scheduleName, after, latest) };
}

function decideSlot(input: ScheduleInput, scheduleName: string, after: number, slotMs: number): SlotDecision {
  if (input.spec.suspend === true) return { action: "suspended", slotMs };
  const name = slotBackupName(scheduleName, slotMs);
  if (input.backups.some((b) => b.name === name)) return { action: "exists", slotMs, name };
  const deadlineSeconds = input.spec.startingDeadlineSeconds;
  const lateMs = input.nowMs - slotMs;
  if (deadlineSeconds !== undefined && lateMs > deadlineSeconds * 1000) return { action: "miss", slotMs, lateMs };
  const running = input.backups.find((b) => b.phase !== "Completed" && b.phase !== "Failed");
  if (running !== undefined) return { action: "skip", slotMs, running: running.name };
  const passed = slotsBetween(input.spec.schedule, after, input.nowMs);
  return { action: "create", slotMs, name, slotsPassed: passed.count, slotsPassedMore: passed.more };
}

/**
 * Completed backups beyond the newest `count`, or older than maxAge; failed ones beyond
 * the newest `failedCount`. The newest Completed backup is never pruned, whatever its age:
 * a schedule that stopped working must not take its last good backup with it. Oldest first.
 */
export function pruneChoices(input: Pick<ScheduleInput, "nowMs" | "spec" | "backups">): PruneChoice[] {
  const retention = input.spec.retention ?? {};
  const count = retention.count ?? RETENTION_COUNT_DEFAULT;
  const ageMaxMs = retention.maxAge === undefined ? undefined : maxAgeMs(retention.maxAge);
  const newestFirst = [...input.backups].sort((a, b) => b.slotMs - a.slotMs || (a.name < b.name ? 1 : -1));
  const choices: { choice: PruneChoice; slotMs: number }[] = [];
  newestFirst.filter((b) => b.phase === "Completed").forEach((backup, index) => {
    if (index === 0) return;
    const ageMs = input.nowMs - (backup.finishedMs ?? backup.slotMs);
    if (index >= count) choices.push({ slotMs: backup.slotMs, choice: { name: backup.name, why: `${index} newer completed backups are kept (retention.count ${count})` } });
    else if (ageMaxMs !== undefined && ageMs > ageMaxMs) choices.push({ slotMs: backup.slotMs, choice: { name: backup.name, why: `older than retention.maxAge ${retention.maxAge ?? ""}` } });
  });
  const failedKept = retention.failedCount ?? FAILED_KEPT_COUNT_DEFAULT;
  newestFirst.filter((b) => b.phase === "Failed").forEach((backup, index) => {
    if (index >= failedKept) choices.push({ slotMs: backup.slotMs, choice: { name: backup.name, why: `${index} newer failed backups are kept (retention.failedCount ${failedKept})` } });
  });
  return choices.sort((a, b) => a.slotMs - b.slotMs).slice(0, PRUNES_PER_RECONCILE_MAX).map((c) => c.choice);
}

function retentionProblem(spec: ScheduledBackupSpec): string | undefined {
  const maxAge = spec.retention?.maxAge;
  if (maxAge !== undefined && maxAgeMs(maxAge) === undefined) return `retention.maxAge "${maxAge}" is not a whole number followed by m, h or d (for example "30d")`;
  return undefined;
}

function expressionAt(schedule: string, atMs: number): ReturnType<typeof CronExpressionParser.parse> {
  return CronExpressionParser.parse(schedule.trim(), { tz: "UTC", currentDate: new Date(atMs) });
}

/** The latest slot at or before `atMs` (the library's prev() is strictly before its date, hence the 1 ms). */
function latestSlotAtOrBefore(schedule: string, atMs: number): number | undefined {
  const expression = expressionAt(schedule, atMs + 1);
  return expression.hasPrev() ? expression.prev().getTime() : undefined;
}

function slotAfter(schedule: string, atMs: number): number | undefined {
  const expression = expressionAt(schedule, atMs);
  return expression.hasNext() ? expression.next().getTime() : undefined;
}

/** Slots in (afterMs, untilMs], counted up to MISSED_SLOTS_COUNTED_MAX. */
function slotsBetween(schedule: string, afterMs: number, untilMs: number): { count: number; more: boolean } {
  const expression = expressionAt(schedule, afterMs);
  let count = 0;
  while (count < MISSED_SLOTS_COUNTED_MAX && expression.hasNext() && expression.next().getTime() <= untilMs) count += 1;
  return { count, more: count === MISSED_SLOTS_COUNTED_MAX };
}
