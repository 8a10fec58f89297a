/**
 * Test-only failpoints: KVRAFT_OPERATOR_FAILPOINT names one or more points (comma
 * separated, e.g. "after-add-learner") where the operator process exits at once, as if
 * it died between two steps of a change. A test then starts another operator and checks
 * that it finishes (or rolls back) the change. Unset, every failpoint is a no-op.
 */
export const FAILPOINT_ENV = "KVRAFT_OPERATOR_FAILPOINT";
/** The exit status of a process stopped by a failpoint, distinct from any real failure. */
export const FAILPOINT_EXIT_CODE = 86;

export function activeFailpoints(env: NodeJS.ProcessEnv = process.env): ReadonlySet<string> {
  return new Set((env[FAILPOINT_ENV] ?? "").split(",").map((s) => s.trim()).filter((s) => s !== ""));
}

/** "AddLearner" -> "after-add-learner": the failpoint after a planner step of that kind. */
export function failpointAfter(stepKind: string): string {
  return `after-${stepKind.replace(/([a-z0-9])([A-Z])/g, "$1-$2").toLowerCase()}`;
}

export function hitFailpoint(name: string, active: ReadonlySet<string> = activeFailpoints()): void {
  if (!active.has(name)) return;
  process.stderr.write(`kvraft operator: failpoint ${name} hit (${FAILPOINT_ENV}): exiting with ${FAILPOINT_EXIT_CODE}\n`);
  process.exit(FAILPOINT_EXIT_CODE);
}
