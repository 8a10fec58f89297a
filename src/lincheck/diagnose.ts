import type { Operation } from "./history.js";
import { applyOperation, describeKeyState, INITIAL_KEY_STATE, versionCeiling, type KeyState } from "./model.js";
import type { SearchOutcome } from "./search.js";
import type { VersionOrderViolation } from "./version-order.js";

/**
 * Explains a failed or unfinished search on one key, from the longest linearization the
 * search found: which op could not come next, and why. Which op is "at fault" in a
 * history with no linearization is a matter of choice; this picks the op whose deadline
 * ran out first after the prefix, which is where the search had to turn back.
 * A violation of version order (found without a search) names the two ops instead.
 */

/** What the search got through on one key before it failed or gave up. */
export interface KeyDiagnostic {
  key: string;
  /** The longest sequence of this key's operations the search found linearizable, in order; empty when there was no search. */
  longestPrefix: Operation[];
  /** The key's state after `longestPrefix`, in words. */
  stateAfterPrefix: string;
  /** The known-outcome operation outside the prefix that returned first: the one that could not be placed. */
  blockedOperation: Operation | undefined;
  /**
   * Why `blockedOperation` cannot go next. "refused": the specification does not allow it
   * in that state. "strands": it is allowed, but afterwards the ops in
   * `relatedOperations` could never be placed (the key's version would have passed
   * theirs). "dead end": it is allowed, but nothing after it works. "version passed":
   * found before any search (version-order.ts): it was called after the op in
   * `relatedOperations` returned, which had taken the key past the version it needs.
   */
  blockedBecause: "refused" | "strands" | "dead end" | "version passed" | undefined;
  relatedOperations: Operation[];
  /** The other operations outside the prefix called before `blockedOperation` returned: the candidates to go before it. */
  pendingOperations: Operation[];
}

function replay(key: string, prefix: readonly Operation[]): KeyState {
  let state: KeyState = INITIAL_KEY_STATE;
  for (const operation of prefix) {
    const next = applyOperation(state, operation.input, operation.output);
    if (next === undefined) throw new Error(`lincheck: the search's prefix for key ${JSON.stringify(key)} does not replay`);
    state = next;
  }
  return state;
}

/** The known-outcome op outside the prefix that returns first. */
function earliestReturning(unplaced: readonly Operation[]): Operation | undefined {
  let earliest: Operation | undefined;
  for (const operation of unplaced) {
    if (operation.output === undefined) continue;
    if (earliest === undefined || operation.returnTime < earliest.returnTime) earliest = operation;
  }
  return earliest;
}

/** `operations` are the key's searched ops, indexed as in `outcome.longestPrefix`. */
export function diagnose(key: string, operations: readonly Operation[], outcome: SearchOutcome): KeyDiagnostic {
  const longestPrefix = outcome.longestPrefix.map((id) => operations[id]!);
  const state = replay(key, longestPrefix);
  const placed = new Set(longestPrefix);
  const unplaced = operations.filter((operation) => !placed.has(operation));
  const blockedOperation = earliestReturning(unplaced);
  const pendingOperations = unplaced.filter(
    (operation) => operation !== blockedOperation && (blockedOperation === undefined || operation.callTime <= blockedOperation.returnTime),
  );
  const diagnostic = { key, longestPrefix, stateAfterPrefix: describeKeyState(state), blockedOperation, pendingOperations };
  if (blockedOperation === undefined) return { ...diagnostic, blockedBecause: undefined, relatedOperations: [] };
  const next = applyOperation(state, blockedOperation.input, blockedOperation.output);
  if (next === undefined) return { ...diagnostic, blockedBecause: "refused", relatedOperations: [] };
  const strandedOperations = unplaced.filter(
    (operation) => operation !== blockedOperation && versionCeiling(operation.output) <= next.lastKnownVersion,
  );
  return { ...diagnostic, blockedBecause: strandedOperations.length > 0 ? "strands" : "dead end", relatedOperations: strandedOperations };
}

export function diagnoseVersionOrder(key: string, violation: VersionOrderViolation): KeyDiagnostic {
  return {
    key,
    longestPrefix: [],
    stateAfterPrefix: "not searched: the violation was found without a search",
    blockedOperation: violation.later,
    blockedBecause: "version passed",
    relatedOperations: [violation.earlier],
    pendingOperations: [],
  };
}
