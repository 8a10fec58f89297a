/**
 * The history format the linearizability checker reads. Test harnesses (the simulator,
 * the process-cluster tests) record one `Operation` per client request. Operations that
 * failed for sure (never applied) are left out of the history entirely.
 */

export type KvInput =
  | { op: "get"; key: string }
  | { op: "put"; key: string; value: string }
  | { op: "cas"; key: string; expectVersion: number; value: string } // expectVersion 0 = must not exist
  | { op: "delete"; key: string };

export type KvOutput =
  | { op: "get"; found: false }
  | { op: "get"; found: true; value: string; version: number }
  | { op: "put"; version: number } // the new version of the key: a Raft log index, strictly increasing per key
  | { op: "cas"; ok: true; version: number }
  | { op: "cas"; ok: false } // version mismatch: not applied
  | { op: "delete"; deleted: boolean };

export interface Operation {
  clientId: number;
  input: KvInput;
  /** Invocation time (any monotonic unit). */
  callTime: number;
  /** Completion time; Infinity when the outcome is unknown (a timeout). */
  returnTime: number;
  /** Undefined when unknown: the op may or may not have taken effect, at any point after callTime. */
  output: KvOutput | undefined;
}

/** A history the checker cannot interpret; `operationIndex` points into the input array. */
export class InvalidHistoryError extends Error {
  override readonly name = "InvalidHistoryError";
  constructor(
    readonly operationIndex: number,
    reason: string,
  ) {
    super(`history operation #${operationIndex} is invalid: ${reason}`);
  }
}

function isVersion(version: number): boolean {
  return Number.isSafeInteger(version) && version >= 0;
}

/** The reason `operation` is malformed, or undefined when it is well formed. */
function problemWith(operation: Operation): string | undefined {
  const { input, output, callTime, returnTime } = operation;
  if (!Number.isFinite(callTime)) return `callTime must be a finite number, got ${callTime}`;
  if (Number.isNaN(returnTime)) return "returnTime is NaN";
  if (returnTime < callTime) return `returnTime ${returnTime} precedes callTime ${callTime}`;
  if (typeof input.key !== "string") return "input.key must be a string";
  if (input.op === "cas" && !isVersion(input.expectVersion)) {
    return `cas expectVersion must be a non-negative integer, got ${input.expectVersion}`;
  }
  if (output === undefined) return undefined;
  // A known output needs a known completion: the search relies on every op with a known
  // outcome having a finite return, so that it must be linearized before that return.
  if (!Number.isFinite(returnTime)) return "an output is recorded but returnTime is not finite";
  if (output.op !== input.op) return `input is ${input.op} but output is ${output.op}`;
  if ("version" in output && !isVersion(output.version)) {
    return `output version must be a non-negative integer, got ${output.version}`;
  }
  return undefined;
}

/** Throws InvalidHistoryError naming the first malformed operation. */
export function validateHistory(operations: readonly Operation[]): void {
  operations.forEach((operation, operationIndex) => {
    const problem = problemWith(operation);
    if (problem !== undefined) throw new InvalidHistoryError(operationIndex, problem);
  });
}
