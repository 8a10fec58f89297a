import { checkHistory } from "../../lincheck/index.js";
import type { Operation } from "../../lincheck/history.js";
import { InvariantError } from "../../assert/invariant.js";
import type { SafetyChecker, Violation } from "./checker.js";
import { ViolationError } from "./checker.js";
import { MIN_CLIENT_OPS } from "./healed-phase.js";
import type { PlantName } from "./plants.js";
import type { SimStats } from "./types.js";

export interface SimResult {
  readonly seed: number;
  readonly violation: Violation | undefined;
  readonly stats: SimStats;
  readonly operations: number;
  readonly linearizability: "ok" | "illegal" | "unknown" | "skipped";
  /** Fault kinds a default-schedule run must have but this one did not. */
  readonly missingCoverage: readonly string[];
  readonly trace: readonly string[];
}

/** A default-schedule run shorter than this many steps did not exercise enough. */
const MIN_STEPS = 2000;

/** Where the run stood when something broke: every violation carries it. */
export interface RunPoint {
  readonly step: number;
  readonly timeMs: number;
}

export function violationAt(point: RunPoint, invariant: string, message: string): Violation {
  return { invariant, message, step: point.step, timeMs: point.timeMs };
}

/** What a failed check or a crashed step threw, as the violation the run reports. */
export function violationFrom(point: RunPoint, error: unknown): Violation {
  if (error instanceof ViolationError) return violationAt(point, error.violation.invariant, error.violation.message);
  if (error instanceof InvariantError) return violationAt(point, "core-invariant", error.message);
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return violationAt(point, "exception", message);
}

/** A run whose loop has stopped, with everything the end-of-run checks read. */
export interface StoppedRun {
  readonly seed: number;
  readonly plant: PlantName | undefined;
  readonly stats: SimStats;
  readonly checker: SafetyChecker;
  /** Complete: every client has recorded or given up on its last operation. */
  readonly history: readonly Operation[];
  readonly trace: readonly string[];
  readonly stoppedAt: RunPoint;
  /** What broke while the run went, if anything: the end-of-run checks then do not run. */
  readonly violation: Violation | undefined;
}

/**
 * The end-of-run checks, in order, the first violation being the run's: every
 * acknowledged write was applied, then the clients' history is linearizable. A run
 * on the default schedule must also have had every required fault (a planted bug's
 * run is judged on its violation alone).
 */
export function judgeRun(run: StoppedRun): SimResult {
  let violation = run.violation;
  let linearizability: SimResult["linearizability"] = "skipped";
  if (violation === undefined) {
    try {
      run.checker.checkAcknowledgedWrites();
    } catch (error) {
      violation = violationFrom(run.stoppedAt, error);
    }
  }
  if (violation === undefined) {
    const verdict = checkHistory(run.history);
    linearizability = verdict.verdict;
    if (verdict.verdict !== "ok") {
      violation = violationAt(run.stoppedAt, "linearizability", verdict.verdict === "illegal"
        ? `the clients' history is not linearizable (key ${verdict.failingKey ?? "?"})`
        : "the linearizability check ran out of its step budget (unknown is not a pass)");
    }
  }
  const missingCoverage = run.plant === undefined ? missingCoverageOf(run.stats) : [];
  return { seed: run.seed, violation, stats: run.stats, operations: run.history.length, linearizability, missingCoverage, trace: run.trace };
}

function missingCoverageOf(stats: SimStats): string[] {
  const required: [string, number][] = [
    [`steps>=${MIN_STEPS}`, stats.steps >= MIN_STEPS ? 1 : 0],
    [`clientOps>=${MIN_CLIENT_OPS}`, stats.clientOps >= MIN_CLIENT_OPS ? 1 : 0],
    ["lossyCrashes", stats.lossyCrashes],
    ["partitions", stats.partitions],
    ["membershipChanges", stats.membershipChanges],
    ["snapshotInstalls", stats.snapshotInstalls],
    ["pauses", stats.pauses],
  ];
  return required.filter(([, count]) => count === 0).map(([name]) => name);
}
