import { describe, expect, it } from "vitest";
import { maxAgeMs, MISSED_SLOTS_COUNTED_MAX, type OwnedBackup, planSchedule, PRUNES_PER_RECONCILE_MAX, pruneChoices, type ScheduleInput, scheduleProblem, slotBackupName } from "../../src/operator/scheduled-backup-plan.js";
import type { ScheduledBackupSpec } from "../../src/operator/scheduled-backup-types.js";

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;
/** 2026-12-01T00:00:00Z: every test's times are offsets from here. */
const T0 = Date.UTC(2026, 11, 1);
const HOURLY: ScheduledBackupSpec = { cluster: "kv", schedule: "0 * * * *", target: { claimName: "backups" } };

function input(over: Partial<ScheduleInput>): ScheduleInput {
  return { nowMs: T0, spec: HOURLY, createdMs: T0 - 30 * MINUTE_MS, backups: [], ...over };
}

function valid(plan: ReturnType<typeof planSchedule>): Extract<ReturnType<typeof planSchedule>, { valid: true }> {
  if (!plan.valid) throw new Error(`the plan is invalid: ${plan.problem}`);
  return plan;
}

const completed = (hoursAgo: number, name = `nightly-${(T0 - hoursAgo * HOUR_MS) / 1000}`): OwnedBackup =>
  ({ name, slotMs: T0 - hoursAgo * HOUR_MS, phase: "Completed", finishedMs: T0 - hoursAgo * HOUR_MS + MINUTE_MS });

describe("the schedule decision (a pure function of the time and the backups)", () => {
  it("first run: the first slot after creation makes one backup, named after the slot, and says when the next one is", () => {
    const before = valid(planSchedule(input({ nowMs: T0 - MINUTE_MS }), "nightly"));
    expect(before.slot).toBeUndefined();
    expect(before.nextSlotMs).toBe(T0);
    const plan = valid(planSchedule(input({ nowMs: T0 + 3000 }), "nightly"));
    expect(plan.slot).toEqual({ action: "create", slotMs: T0, name: slotBackupName("nightly", T0), slotsPassed: 1, slotsPassedMore: false });
    expect(plan.slot?.action === "create" && plan.slot.name).toBe(`nightly-${T0 / 1000}`);
    expect(plan.lastSlotMs).toBe(T0);
    expect(plan.nextSlotMs).toBe(T0 + HOUR_MS);
  });

  it("never runs a slot from before the object was created", () => {
    const plan = valid(planSchedule(input({ nowMs: T0 + 10 * MINUTE_MS, createdMs: T0 + 5 * MINUTE_MS }), "nightly"));
    expect(plan.slot).toBeUndefined();
    expect(plan.nextSlotMs).toBe(T0 + HOUR_MS);
  });

  it("a slot already decided on is not decided again (the status's lastSlotTime)", () => {
    const plan = valid(planSchedule(input({ nowMs: T0 + 10 * MINUTE_MS, lastSlotMs: T0 }), "nightly"));
    expect(plan.slot).toBeUndefined();
    expect(plan.lastSlotMs).toBe(T0);
  });

  it("missed slots while the operator was down: the latest one runs once, the others are counted", () => {
    const plan = valid(planSchedule(input({ nowMs: T0 + 5 * HOUR_MS + 10 * MINUTE_MS, lastSlotMs: T0 }), "nightly"));
    expect(plan.slot).toEqual({ action: "create", slotMs: T0 + 5 * HOUR_MS, name: slotBackupName("nightly", T0 + 5 * HOUR_MS), slotsPassed: 5, slotsPassedMore: false });
    // Every second for a day: the count stops at its limit and says "more".
    const busy = valid(planSchedule(input({ spec: { ...HOURLY, schedule: "* * * * * *" }, nowMs: T0 + DAY_MS, lastSlotMs: T0 }), "nightly"));
    expect(busy.slot).toMatchObject({ action: "create", slotMs: T0 + DAY_MS, slotsPassed: MISSED_SLOTS_COUNTED_MAX, slotsPassedMore: true });
  });

  it("a slot found later than startingDeadlineSeconds is missed, not run", () => {
    const spec = { ...HOURLY, startingDeadlineSeconds: 600 };
    expect(valid(planSchedule(input({ spec, nowMs: T0 + 9 * MINUTE_MS }), "nightly")).slot?.action).toBe("create");
    const late = valid(planSchedule(input({ spec, nowMs: T0 + 11 * MINUTE_MS }), "nightly"));
    expect(late.slot).toEqual({ action: "miss", slotMs: T0, lateMs: 11 * MINUTE_MS });
    expect(late.lastSlotMs).toBe(T0);
  });

  it("a slot while a backup of the schedule is unfinished is skipped, naming it (concurrency Forbid)", () => {
    for (const phase of [undefined, "Pending", "Running"] as const) {
      const running: OwnedBackup = { name: "nightly-1", slotMs: T0 - HOUR_MS, ...(phase === undefined ? {} : { phase }) };
      const plan = valid(planSchedule(input({ nowMs: T0 + 1000, backups: [running] }), "nightly"));
      expect(plan.slot, String(phase)).toEqual({ action: "skip", slotMs: T0, running: "nightly-1" });
      expect(plan.lastSlotMs).toBe(T0);
    }
    const finished = valid(planSchedule(input({ nowMs: T0 + 1000, backups: [{ name: "nightly-1", slotMs: T0 - HOUR_MS, phase: "Failed" }] }), "nightly"));
    expect(finished.slot?.action).toBe("create");
  });

  it("after a restart that lost the status write, the slot's backup is found by its name, not made twice", () => {
    const made: OwnedBackup = { name: slotBackupName("nightly", T0), slotMs: T0 };
    const plan = valid(planSchedule(input({ nowMs: T0 + 2000, backups: [made] }), "nightly"));
    expect(plan.slot).toEqual({ action: "exists", slotMs: T0, name: made.name });
  });

  it("suspended: slots pass unused, and pruning goes on", () => {
    const backups = [completed(1), completed(2), completed(3)];
    const plan = valid(planSchedule(input({ spec: { ...HOURLY, suspend: true, retention: { count: 1 } }, nowMs: T0 + 1000, backups }), "nightly"));
    expect(plan.slot).toEqual({ action: "suspended", slotMs: T0 });
    expect(plan.prune.map((p) => p.name)).toEqual([completed(3).name, completed(2).name]);
  });

  it("a schedule that does not parse makes nothing, says why, and still prunes", () => {
    for (const [schedule, why] of [["61 * * * *", /does not parse: .*61/], ["* * *", /has 3 fields/], ["0 0 31 2 *", /does not parse/], ["@often", /does not parse/]] as const) {
      const plan = planSchedule(input({ spec: { ...HOURLY, schedule, retention: { count: 1 } }, backups: [completed(1), completed(2)] }), "nightly");
      expect(plan.valid, schedule).toBe(false);
      expect(!plan.valid && plan.problem, schedule).toMatch(why);
      expect(plan.prune.map((p) => p.name)).toEqual([completed(2).name]);
    }
    expect(scheduleProblem("*/15 * * * *")).toBeUndefined();
    expect(scheduleProblem("30 */5 * * * *")).toBeUndefined();
    expect(scheduleProblem("@daily")).toBeUndefined();
    const badAge = planSchedule(input({ spec: { ...HOURLY, retention: { maxAge: "2 weeks" } } }), "nightly");
    expect(!badAge.valid && badAge.problem).toMatch(/retention.maxAge "2 weeks"/);
  });
});

describe("pruning", () => {
  it("by count: completed backups beyond the newest `count` go, oldest first", () => {
    const backups = [completed(1), completed(5), completed(3), completed(2), completed(4)];
    const choices = pruneChoices({ nowMs: T0, spec: { ...HOURLY, retention: { count: 3 } }, backups });
    expect(choices.map((c) => c.name)).toEqual([completed(5).name, completed(4).name]);
    expect(choices[0]?.why).toMatch(/retention.count 3/);
  });

  it("by age: completed backups older than maxAge go, the newest one kept whatever its age", () => {
    const backups = [completed(10 * 24), completed(8 * 24), completed(2 * 24), completed(24)];
    const byAge = pruneChoices({ nowMs: T0, spec: { ...HOURLY, retention: { count: 100, maxAge: "7d" } }, backups });
    expect(byAge.map((c) => c.name)).toEqual([completed(10 * 24).name, completed(8 * 24).name]);
    expect(byAge[0]?.why).toMatch(/older than retention.maxAge 7d/);
    // Every one too old: the newest survives, so a schedule that stopped keeps its last good backup.
    const allOld = pruneChoices({ nowMs: T0 + 365 * DAY_MS, spec: { ...HOURLY, retention: { count: 100, maxAge: "7d" } }, backups });
    expect(allOld.map((c) => c.name)).toEqual([completed(10 * 24).name, completed(8 * 24).name, completed(2 * 24).name]);
  });

  it("never prunes the newest Completed backup, even when newer ones failed or run, with count 1", () => {
    const newestCompleted = completed(3);
    const backups: OwnedBackup[] = [
      completed(5), newestCompleted,
      { name: "failed-2", slotMs: T0 - 2 * HOUR_MS, phase: "Failed", finishedMs: T0 - 2 * HOUR_MS },
      { name: "running-1", slotMs: T0 - HOUR_MS, phase: "Running" },
    ];
    const choices = pruneChoices({ nowMs: T0 + 400 * DAY_MS, spec: { ...HOURLY, retention: { count: 1, maxAge: "1m", failedCount: 0 } }, backups });
    expect(choices.map((c) => c.name)).toEqual([completed(5).name, "failed-2"]);
    expect(choices.map((c) => c.name)).not.toContain(newestCompleted.name);
    expect(choices.map((c) => c.name)).not.toContain("running-1");
  });

  it("keeps `failedCount` failed backups, and prunes at most PRUNES_PER_RECONCILE_MAX at a time", () => {
    const failed = Array.from({ length: 5 }, (_, i): OwnedBackup => ({ name: `f-${i}`, slotMs: T0 - i * HOUR_MS, phase: "Failed" }));
    expect(pruneChoices({ nowMs: T0, spec: HOURLY, backups: failed }).map((c) => c.name)).toEqual(["f-4", "f-3"]);
    const many = Array.from({ length: 30 }, (_, i) => completed(i + 1));
    const choices = pruneChoices({ nowMs: T0, spec: { ...HOURLY, retention: { count: 1 } }, backups: many });
    expect(choices).toHaveLength(PRUNES_PER_RECONCILE_MAX);
    expect(choices[0]?.name).toBe(completed(30).name);
  });

  it("reads maxAge as minutes, hours or days", () => {
    expect([maxAgeMs("90m"), maxAgeMs("36h"), maxAgeMs("30d")]).toEqual([90 * MINUTE_MS, 36 * HOUR_MS, 30 * DAY_MS]);
    expect([maxAgeMs("1w"), maxAgeMs("-1d"), maxAgeMs("d"), maxAgeMs("1.5h")]).toEqual([undefined, undefined, undefined, undefined]);
  });
});
