import type { KvInput, Operation } from "./history.js";
import type { SearchOperation } from "./search.js";

/**
 * Turns one key's operations into the search's input, with three reductions that keep
 * histories full of timeouts (unknown outcomes) tractable. Each unknown-outcome op stays
 * a candidate from its call to the end of the history, so without them a key with m
 * pending timeouts can be searched in up to 2^m ways that all end the same.
 *
 * 1. A timed-out write whose value a get returned, when no other op wrote that value,
 *    certainly took effect, and before that get returned: it becomes required, with the
 *    get's return as its own. It is then placed just in time like any other op.
 * 2. Values no get ever returned are all replaced by one token. A state's value only
 *    matters when a get compares against it, and every such value compares unequal to
 *    every get, so states that differ only in which unobserved value they hold are the
 *    same state: the cache can then merge them.
 * 3. Interchangeable optional ops (unknown outcomes that 1 left optional, with the same
 *    input after 2: e.g. every timed-out delete, or every timed-out put of an unobserved
 *    value) are linearized in call order: the search may take one only after the one called before it. This loses no
 *    linearization. Given one that uses k of them, put the k earliest-called ones in
 *    their places, in call order: the i-th place comes after i of the group were called,
 *    so it comes after the i-th earliest call, and unknown ops have no return to respect.
 */

/** A string that no get in `observedValues` returned, found deterministically. */
function unobservedValueToken(observedValues: ReadonlySet<string>): string {
  let token = "\u0000unobserved";
  while (observedValues.has(token)) token += "\u0000";
  return token;
}

function canonicalInput(input: KvInput, observedValues: ReadonlySet<string>, token: string): KvInput {
  if (input.op !== "put" && input.op !== "cas") return input;
  return observedValues.has(input.value) ? input : { ...input, value: token };
}

function interchangeabilityKey(input: KvInput): string {
  const expectVersion = input.op === "cas" ? input.expectVersion : "";
  const value = input.op === "put" || input.op === "cas" ? input.value : "";
  return `${input.op}/${expectVersion}/${value}`;
}

export interface PreparedKey {
  /** The operations searched, in history order; `searchOperations[i]` stands for `operations[i]`. */
  readonly operations: readonly Operation[];
  readonly searchOperations: readonly SearchOperation[];
}

function writtenValue(input: KvInput): string | undefined {
  return input.op === "put" || input.op === "cas" ? input.value : undefined;
}

/**
 * For each value written by exactly one op, the earliest return among the known gets
 * that returned it. An unknown-outcome op whose value a get returned certainly took
 * effect, before that get: it is as good as an op that returned when the get did.
 */
function observedDeadlines(operations: readonly Operation[]): Map<string, number> {
  const writers = new Map<string, number>();
  for (const { input } of operations) {
    const value = writtenValue(input);
    if (value !== undefined) writers.set(value, (writers.get(value) ?? 0) + 1);
  }
  const deadlines = new Map<string, number>();
  for (const { output, returnTime } of operations) {
    if (output?.op !== "get" || !output.found || writers.get(output.value) !== 1) continue;
    deadlines.set(output.value, Math.min(returnTime, deadlines.get(output.value) ?? Number.POSITIVE_INFINITY));
  }
  return deadlines;
}

/**
 * Prepares one key's operations. A get with an unknown outcome is dropped: it changes
 * nothing whether or not it took effect. Any other op with an unknown output is optional
 * and returns at +Infinity, even when the client recorded the time it gave up (the
 * request may still be in flight and take effect later), unless a get observed its value.
 */
export function prepareKey(partition: readonly Operation[]): PreparedKey {
  const operations = partition.filter((operation) => operation.output !== undefined || operation.input.op !== "get");
  const observedValues = new Set<string>();
  for (const { output } of operations) if (output?.op === "get" && output.found) observedValues.add(output.value);
  const token = unobservedValueToken(observedValues);
  const deadlines = observedDeadlines(operations);

  const searchOperations = operations.map((operation): SearchOperation => {
    const input = canonicalInput(operation.input, observedValues, token);
    if (operation.output !== undefined) {
      const { output, callTime, returnTime } = operation;
      return { input, output, callTime, returnTime, required: true, previousInterchangeableId: -1 };
    }
    const deadline = deadlines.get(writtenValue(operation.input) ?? "");
    // A get that returned the value before this op was called is a violation the search
    // will find anyway; such an op stays optional so that its interval stays well formed.
    const required = deadline !== undefined && deadline >= operation.callTime;
    const returnTime = required ? deadline : Number.POSITIVE_INFINITY;
    return { input, output: undefined, callTime: operation.callTime, returnTime, required, previousInterchangeableId: -1 };
  });
  chainInterchangeable(searchOperations);
  return { operations, searchOperations };
}

/** Links each optional op to the previous interchangeable one in call order (ties by id, as in the event list). */
function chainInterchangeable(searchOperations: SearchOperation[]): void {
  const optionalIds = searchOperations.flatMap((operation, id) => (operation.required ? [] : [id]));
  optionalIds.sort((a, b) => searchOperations[a]!.callTime - searchOperations[b]!.callTime || a - b);
  const lastIdOfGroup = new Map<string, number>();
  for (const id of optionalIds) {
    const group = interchangeabilityKey(searchOperations[id]!.input);
    searchOperations[id] = { ...searchOperations[id]!, previousInterchangeableId: lastIdOfGroup.get(group) ?? -1 };
    lastIdOfGroup.set(group, id);
  }
}
