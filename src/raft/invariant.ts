/**
 * A broken invariant is a programmer error: it stops the process with a message that
 * names the invariant and the values that broke it. Never catch this to carry on.
 */
export class InvariantViolation extends Error {
  override readonly name = "InvariantViolation";
}

export function invariant(condition: boolean, describe: () => string): asserts condition {
  if (!condition) throw new InvariantViolation(describe());
}
