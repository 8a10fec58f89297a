import { validateHistory, type Operation } from "./history.js";
import { diagnose, diagnoseVersionOrder, type KeyDiagnostic } from "./diagnose.js";
import { prepareKey } from "./prepare.js";
import { searchLinearization, type SearchOutcome } from "./search.js";
import { findVersionOrderViolation } from "./version-order.js";

/**
 * Checks a KV history for linearizability. Linearizability is local (Herlihy & Wing):
 * a history is linearizable exactly when each object's sub-history is, and the store's
 * specification treats every key as its own object. So each key is checked on its own,
 * which keeps the exponential part of the work small. Per key, in order:
 *   1. version order (version-order.ts): a violation of real-time order between
 *      versions, found in O(n log n) without a search;
 *   2. the search (search.ts) on the prepared operations (prepare.ts), first with
 *      optional ops tried early, then, if that runs out of budget, with them tried when
 *      stuck.
 */

/**
 * The default search limit per key and candidate order. A step is one move of the
 * search's walk, 0.1 to 0.5 microseconds; the cache gains at most one entry per step and
 * in practice about one per ten. So a key's search stops within about a second per order
 * and well under 100 MB, while 1000-op histories from a handful of clients need a few
 * thousand steps.
 */
export const DEFAULT_STEP_BUDGET = 1_000_000;

export interface CheckOptions {
  /**
   * The most search steps spent on one key in each of the two candidate orders; when both
   * run out, that key's verdict is "unknown". At least 1.
   */
  stepBudget?: number;
}

export type Verdict = "ok" | "illegal" | "unknown";
export type { KeyDiagnostic };

export interface CheckResult {
  verdict: Verdict;
  /** How many distinct keys the history touches (each checked as its own partition). */
  keys: number;
  /** The first illegal key in key order; for "unknown", the first key whose budget ran out. */
  failingKey?: string;
  /** Present when `failingKey` is. */
  partial?: KeyDiagnostic;
  /** Search steps spent over all keys. */
  steps: number;
}

/** Each key's operations in history order; keys sorted, so keys are checked in a fixed order. */
function partitionByKey(operations: readonly Operation[]): Map<string, Operation[]> {
  const partitions = new Map<string, Operation[]>();
  for (const operation of operations) {
    const partition = partitions.get(operation.input.key);
    if (partition === undefined) partitions.set(operation.input.key, [operation]);
    else partition.push(operation);
  }
  return new Map([...partitions].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function validateOptions(options: CheckOptions): number {
  const stepBudget = options.stepBudget ?? DEFAULT_STEP_BUDGET;
  if (!Number.isSafeInteger(stepBudget) || stepBudget < 1) {
    throw new RangeError(`checkHistory: options.stepBudget must be a positive integer, got ${stepBudget}`);
  }
  return stepBudget;
}

/**
 * The verdict on `operations`: "ok" when every key has a linearization, "illegal" when
 * some key has none (the first such key is named), "unknown" when the search ran out of
 * budget on some key without finding an illegal one. The same input always gives the
 * same result. Throws InvalidHistoryError for malformed input.
 */
export function checkHistory(operations: readonly Operation[], options: CheckOptions = {}): CheckResult {
  const stepBudget = validateOptions(options);
  validateHistory(operations);
  const partitions = partitionByKey(operations);
  let steps = 0;
  let firstUnknown: { key: string; operations: readonly Operation[]; outcome: SearchOutcome } | undefined;
  for (const [key, partition] of partitions) {
    const violation = findVersionOrderViolation(partition);
    if (violation !== undefined) {
      return { verdict: "illegal", keys: partitions.size, failingKey: key, partial: diagnoseVersionOrder(key, violation), steps };
    }
    const { operations: searched, searchOperations } = prepareKey(partition);
    const outcome = searchLinearization(searchOperations, stepBudget);
    steps += outcome.steps;
    if (outcome.verdict === "illegal") {
      const partial = diagnose(key, searched, outcome);
      return { verdict: "illegal", keys: partitions.size, failingKey: key, partial, steps };
    }
    if (outcome.verdict === "unknown" && firstUnknown === undefined) {
      firstUnknown = { key, operations: searched, outcome };
    }
  }
  if (firstUnknown === undefined) return { verdict: "ok", keys: partitions.size, steps };
  const partial = diagnose(firstUnknown.key, firstUnknown.operations, firstUnknown.outcome);
  return { verdict: "unknown", keys: partitions.size, failingKey: firstUnknown.key, partial, steps };
}
