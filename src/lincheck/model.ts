import type { KvInput, KvOutput } from "./history.js";

/**
 * The sequential specification of one key, as a state machine the search steps through.
 *
 * The specification is nondeterministic (an op with an unknown outcome may or may not
 * have taken effect, and its version is unknown), but every nondeterministic choice is
 * one of "took effect" or "changed nothing". "Changed nothing" is indistinguishable from
 * the op never being linearized at all, which the search already explores for every
 * unknown-outcome op. So `applyOperation` returns at most one next state: the effect of
 * the op, or undefined when the op cannot be linearized here (or, for an unknown outcome,
 * when taking effect here would change nothing and omitting it says the same).
 *
 * Versions. Every key starts absent with `lastKnownVersion` 0. Versions are Raft log
 * indexes, so each new version of a key is greater than every earlier one.
 * `lastKnownVersion` is the largest version the linearization so far has revealed (by a
 * put or cas output, or a get). A version created by an unknown-outcome op is recorded
 * as UNKNOWN_VERSION; all that is known is that it exceeds `lastKnownVersion`, because it
 * was created after every version seen so far. Hence:
 *   - a known new version (put, cas) must exceed `lastKnownVersion`. After an unknown
 *     version it may be any value above the last known one: the unknown version sits
 *     somewhere in between, and we do not track how many versions intervened.
 *   - a get that observes an unknown version must see a version above
 *     `lastKnownVersion`; the observed version then becomes the state's version.
 * Invariant: a present key with a known version has `version == lastKnownVersion`.
 *
 * Precision. The model accepts some behaviours a real store could not produce and never
 * rejects one it could: it forgets that an unknown version differs from the
 * expectation of a cas that returned ok:false on it (remembering would need a set of
 * excluded versions per state), and it does not count the versions that unknown ops
 * consumed. Both can only let a bad history pass, never fail a good one.
 */

export const UNKNOWN_VERSION = -1;

export interface KeyState {
  readonly present: boolean;
  /** "" when absent. */
  readonly value: string;
  /** 0 when absent, UNKNOWN_VERSION when created by an op with an unknown outcome. */
  readonly version: number;
  /** The largest version revealed so far by the linearization; never decreases. */
  readonly lastKnownVersion: number;
}

export const INITIAL_KEY_STATE: KeyState = { present: false, value: "", version: 0, lastKnownVersion: 0 };

function absent(lastKnownVersion: number): KeyState {
  return { present: false, value: "", version: 0, lastKnownVersion };
}

function present(value: string, version: number, lastKnownVersion: number): KeyState {
  return { present: true, value, version, lastKnownVersion };
}

/** A string that is equal for equal states: the search interns states by it. */
export function keyStateIdentity(state: KeyState): string {
  return `${state.present ? "P" : "A"}${state.version}/${state.lastKnownVersion}/${state.value}`;
}

export function describeKeyState(state: KeyState): string {
  const lastKnown = `last known version ${state.lastKnownVersion}`;
  if (!state.present) return `absent (${lastKnown})`;
  const version = state.version === UNKNOWN_VERSION ? "unknown version" : `version ${state.version}`;
  return `present: ${JSON.stringify(state.value)} at ${version} (${lastKnown})`;
}

function applyGet(state: KeyState, output: KvOutput & { op: "get" }): KeyState | undefined {
  if (!output.found) return state.present ? undefined : state;
  if (!state.present || state.value !== output.value) return undefined;
  if (state.version !== UNKNOWN_VERSION) return state.version === output.version ? state : undefined;
  // The get reveals the version an unknown-outcome op created.
  if (output.version <= state.lastKnownVersion) return undefined;
  return present(state.value, output.version, output.version);
}

function applyPut(state: KeyState, value: string, output: (KvOutput & { op: "put" }) | undefined): KeyState | undefined {
  if (output === undefined) return present(value, UNKNOWN_VERSION, state.lastKnownVersion);
  if (output.version <= state.lastKnownVersion) return undefined;
  return present(value, output.version, output.version);
}

/** Whether the cas condition may hold in `state`: with an unknown version it may equal any version above the last known. */
function casConditionMayHold(state: KeyState, expectVersion: number): boolean {
  if (expectVersion === 0) return !state.present;
  if (!state.present) return false;
  if (state.version === UNKNOWN_VERSION) return expectVersion > state.lastKnownVersion;
  return state.version === expectVersion;
}

/** Whether the cas condition may fail in `state`: an unknown version may always differ from the expectation. */
function casConditionMayFail(state: KeyState, expectVersion: number): boolean {
  if (expectVersion === 0) return state.present;
  return !state.present || state.version !== expectVersion;
}

function applyCas(
  state: KeyState,
  input: KvInput & { op: "cas" },
  output: (KvOutput & { op: "cas" }) | undefined,
): KeyState | undefined {
  const { expectVersion, value } = input;
  if (output !== undefined && !output.ok) return casConditionMayFail(state, expectVersion) ? state : undefined;
  if (!casConditionMayHold(state, expectVersion)) return undefined;
  // The cas applied, so the key's version was `expectVersion` (when nonzero) just before:
  // that version is now known, even if the state had recorded it as unknown.
  const lastKnownVersion = Math.max(state.lastKnownVersion, expectVersion);
  if (output === undefined) return present(value, UNKNOWN_VERSION, lastKnownVersion);
  if (output.version <= lastKnownVersion) return undefined;
  return present(value, output.version, output.version);
}

function applyDelete(state: KeyState, output: (KvOutput & { op: "delete" }) | undefined): KeyState | undefined {
  const deleted = output === undefined ? true : output.deleted;
  if (deleted) return state.present ? absent(state.lastKnownVersion) : undefined;
  return state.present ? undefined : state;
}

/**
 * The least `lastKnownVersion` can be once this op is linearized: the version a put or
 * successful cas returned, or that a get saw. 0 (the initial value) for other ops.
 */
export function versionFloor(output: KvOutput | undefined): number {
  if (output === undefined) return 0;
  if (output.op === "put" || (output.op === "cas" && output.ok) || (output.op === "get" && output.found)) return output.version;
  return 0;
}

/**
 * The smallest `lastKnownVersion` at which this op can no longer be linearized, or
 * +Infinity. `lastKnownVersion` never decreases, so once it reaches this ceiling the op
 * is dead for the rest of the linearization: a put or successful cas returning version
 * v needs it below v, and a get that saw version v needs it at most v (a known version
 * equals it; an unknown one exceeds it). The search uses this to drop a branch as soon
 * as it strands a required op, instead of when that op's return is reached.
 */
export function versionCeiling(output: KvOutput | undefined): number {
  if (output === undefined) return Number.POSITIVE_INFINITY;
  if (output.op === "put" || (output.op === "cas" && output.ok)) return output.version;
  if (output.op === "get" && output.found) return output.version + 1;
  return Number.POSITIVE_INFINITY;
}

/**
 * The state after linearizing `input` with `output` in `state`, or undefined when that is
 * not a legal step (see the file comment for unknown outputs). `output.op` must equal
 * `input.op`; `validateHistory` checks it.
 */
export function applyOperation(state: KeyState, input: KvInput, output: KvOutput | undefined): KeyState | undefined {
  if (output !== undefined && output.op !== input.op) {
    throw new Error(`applyOperation: input is ${input.op} but output is ${output.op} (validateHistory rejects this)`);
  }
  switch (input.op) {
    case "get":
      // An unknown get changes nothing: omitting it is the same as linearizing it.
      return output === undefined ? undefined : applyGet(state, output as KvOutput & { op: "get" });
    case "put":
      return applyPut(state, input.value, output as (KvOutput & { op: "put" }) | undefined);
    case "cas":
      return applyCas(state, input, output as (KvOutput & { op: "cas" }) | undefined);
    case "delete":
      return applyDelete(state, output as (KvOutput & { op: "delete" }) | undefined);
  }
}
