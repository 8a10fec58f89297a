import type { Operation } from "./history.js";
import { versionCeiling, versionFloor } from "./model.js";

/**
 * A check that needs no search, run before it: versions only grow, so an op that
 * returned before another was called bounds the versions the later one may see or
 * write. If op A returned before op B was called, A precedes B in every linearization,
 * the key's last known version is at least `versionFloor(A)` from A on, and B needs it
 * below `versionCeiling(B)`. So floor(A) >= ceiling(B) is a violation: typically a
 * stale read (B saw a version older than one A had written or seen) or versions going
 * backwards. The search would find it too, but only after trying every linearization
 * of everything before B, which with many timed-out ops can exceed any budget.
 */

export interface VersionOrderViolation {
  /** The op that returned first, having brought the key to `versionFloor(earlier)`. */
  readonly earlier: Operation;
  /** The op called after `earlier` returned that needs an older version. */
  readonly later: Operation;
}

/** The first violation in call order of `later`, or undefined. O(n log n). */
export function findVersionOrderViolation(operations: readonly Operation[]): VersionOrderViolation | undefined {
  const known = operations.filter((operation) => operation.output !== undefined);
  const byReturn = known.filter((operation) => versionFloor(operation.output) > 0);
  byReturn.sort((a, b) => a.returnTime - b.returnTime);
  const byCall = known.filter((operation) => Number.isFinite(versionCeiling(operation.output)));
  byCall.sort((a, b) => a.callTime - b.callTime);
  let returned = 0;
  let highest: Operation | undefined;
  for (const later of byCall) {
    // Strictly before: an op returning at the instant `later` was called overlaps it.
    for (; returned < byReturn.length && byReturn[returned]!.returnTime < later.callTime; returned++) {
      const candidate = byReturn[returned]!;
      if (highest === undefined || versionFloor(candidate.output) > versionFloor(highest.output)) highest = candidate;
    }
    if (highest !== undefined && versionFloor(highest.output) >= versionCeiling(later.output)) return { earlier: highest, later };
  }
  return undefined;
}
