/**
 * The project's one assertion. A broken invariant is a programmer error in KVRaft's own
 * code, never bad input: network and file input is validated at the edge and answered with
 * an error the caller can act on. The message starts with "broken invariant:" so that a
 * crash says plainly why the process stopped, then names the rule and the values that broke
 * it. Never catch this to carry on.
 */
export class InvariantError extends Error {
  override readonly name = "InvariantError";
  constructor(description: string) {
    super(`broken invariant: ${description}`);
  }
}

/**
 * Throws an InvariantError when `condition` is false. `describe` is called only then, so a
 * message that formats values costs nothing on the hot path.
 */
export function invariant(condition: unknown, describe: () => string): asserts condition {
  if (!condition) throw new InvariantError(describe());
}
