import type { KvInput, KvOutput } from "./history.js";
import { ConfigurationCache, OperationBitset } from "./cache.js";
import { buildEventList, lift, unlift, type EventList } from "./events.js";
import { applyOperation, INITIAL_KEY_STATE, keyStateIdentity, versionCeiling, type KeyState } from "./model.js";

/**
 * The search for a linearization of the operations on one key: Lowe's just-in-time
 * linearization ("Testing for linearizability", 2017), which refines Wing & Gong (1993)
 * with a cache of explored configurations.
 *
 * The call and return events of all operations form a doubly linked list in time order.
 * The search walks it from the front. At a call it tries to linearize that operation
 * now: if the model allows it and the resulting (linearized set, state) is new, the
 * operation's two events are lifted out of the list, the choice is pushed on a stack and
 * the walk restarts from the front. At a return, the operation that returned was not
 * linearized before it had to be, so the search backtracks: it pops the last choice,
 * puts its events back (unlift) and tries the next call after it. The history is
 * linearizable when every required operation has been linearized; the optional ones
 * (unknown outcomes) left over are those that never took effect.
 *
 * Beyond Lowe: the cache cuts configurations dominated by an explored one, not only
 * equal ones (cache.ts); interchangeable optional ops are taken in call order
 * (prepare.ts); and a step that strands a required op, by raising the key's last known
 * version past what that op needs, is refused at once rather than when the stranded op's
 * return is reached, hundreds of steps later (`versionCeiling`). Each only removes
 * configurations that cannot lead to a linearization, or that lead to the same ones as a
 * configuration already explored, so the verdicts are those of the plain algorithm. The
 * random tests hold them to a brute-force enumeration of every order.
 *
 * Steps are budgeted: a search out of steps says "unknown", never "ok".
 */

export interface SearchOperation {
  readonly input: KvInput;
  readonly output: KvOutput | undefined;
  readonly callTime: number;
  /** +Infinity for an optional op: it may take effect at any time after its call. */
  readonly returnTime: number;
  /**
   * Whether every linearization must include this op: true for a known outcome, and for
   * an unknown outcome known to have taken effect (see prepare.ts). An optional op may
   * be left out, which stands for "never took effect".
   */
  readonly required: boolean;
  /**
   * The id of an op that must be linearized before this one may be, or -1: the previous
   * interchangeable unknown-outcome op in call order (see prepare.ts).
   */
  readonly previousInterchangeableId: number;
}

export interface SearchOutcome {
  readonly verdict: "ok" | "illegal" | "unknown";
  readonly steps: number;
  /** Ids (indexes into the operations) of the longest linearization found, in order. */
  readonly longestPrefix: readonly number[];
}

/** Gives equal states one small id, so the cache compares numbers, not states. */
class StateInterner {
  private readonly ids = new Map<string, number>();

  idOf(state: KeyState): number {
    const identity = keyStateIdentity(state);
    let id = this.ids.get(identity);
    if (id === undefined) {
      id = this.ids.size;
      this.ids.set(identity, id);
    }
    return id;
  }
}

/**
 * The required ops ordered by version ceiling (see `versionCeiling`), to find those a
 * rise of `lastKnownVersion` from `from` to `to` would strand: ceilings in (from, to].
 * Ceilings at or below `from` belong to ops already placed, or to ops stranded from the
 * start (a put of version 0), whose return the walk will reach.
 */
class CeilingIndex {
  private readonly ids: Int32Array;
  private readonly ceilings: Float64Array;

  constructor(operations: readonly SearchOperation[]) {
    const ids = operations.flatMap((operation, id) =>
      operation.required && Number.isFinite(versionCeiling(operation.output)) ? [id] : [],
    );
    ids.sort((a, b) => versionCeiling(operations[a]!.output) - versionCeiling(operations[b]!.output) || a - b);
    this.ids = Int32Array.from(ids);
    this.ceilings = Float64Array.from(ids, (id) => versionCeiling(operations[id]!.output));
  }

  /** Whether an op other than `movingId`, not in `linearized`, has a ceiling in (from, to]. */
  strands(from: number, to: number, movingId: number, linearized: OperationBitset): boolean {
    let lo = 0;
    let hi = this.ceilings.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ceilings[mid]! <= from) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.ceilings.length && this.ceilings[i]! <= to; i++) {
      const id = this.ids[i]!;
      if (id !== movingId && !linearized.has(id)) return true;
    }
    return false;
  }
}

/**
 * The order in which the walk tries a configuration's candidates. Both are complete; they
 * differ only in speed. "optional early" tries candidates in list order, optional ops
 * included, so an optional op is placed as soon as it may be: fast on histories that
 * are linearizable, where a timed-out op that took effect is placed where it is needed.
 * "optional when stuck" tries required ops first and optional ones only when no required
 * op can go next, so it explores configurations with fewer optional ops first, and the
 * dominance cache then cuts those with more: fast at proving that a history full of
 * timeouts has no linearization, where "optional early" may try every subset of them.
 */
export type CandidateOrder = "optional early" | "optional when stuck";

/** One key's search: the walk, the stack of choices and the cache. */
class KeySearch {
  private readonly optionalWhenStuck: boolean;
  private readonly list: EventList;
  private readonly cache: ConfigurationCache;
  private readonly ceilings: CeilingIndex;
  private readonly interner = new StateInterner();
  private readonly linearized: OperationBitset;
  private readonly stackIds: Int32Array;
  private readonly stackStates: KeyState[] = [];
  private readonly stackStateIds: Int32Array;
  private depth = 0;
  private state = INITIAL_KEY_STATE;
  private stateId: number;
  private requiredRemaining: number;
  longestPrefix: number[] = [];
  steps = 0;

  constructor(
    private readonly operations: readonly SearchOperation[],
    order: CandidateOrder,
  ) {
    this.optionalWhenStuck = order === "optional when stuck";
    const n = operations.length;
    this.list = buildEventList(operations);
    const required = operations.map((operation) => operation.required);
    this.cache = new ConfigurationCache(required);
    this.ceilings = new CeilingIndex(operations);
    this.linearized = new OperationBitset(required);
    this.stackIds = new Int32Array(n);
    this.stackStateIds = new Int32Array(n);
    this.stateId = this.interner.idOf(this.state);
    this.requiredRemaining = operations.filter((operation) => operation.required).length;
  }

  run(stepBudget: number): SearchOutcome["verdict"] {
    if (this.requiredRemaining === 0) return "ok";
    const list = this.list;
    let node = list.next[0]!;
    // In the optional-when-stuck order, each config's candidates are walked twice: first
    // for required ops, then (at the first return) for optional ones.
    let optionalPass = !this.optionalWhenStuck;
    while (true) {
      if (this.steps >= stepBudget) return "unknown";
      this.steps++;
      const id = list.operationOf[node]!;
      if (id < 0) throw new Error(`lincheck search: walked onto a sentinel (node ${node}) with ${this.requiredRemaining} required ops left`);
      if (list.isCall[node] === 0) {
        if (!optionalPass) {
          optionalPass = true;
          node = list.next[0]!;
          continue;
        }
        // An op returned before it could be linearized: undo the last choice and try
        // the next candidate after it. Optional ops return at +Infinity, after every
        // required return, so the walk never gets to theirs.
        if (this.depth === 0) return "illegal";
        const undoneId = this.backtrack();
        optionalPass = !this.optionalWhenStuck || !this.operations[undoneId]!.required;
        node = list.next[list.callNodeOf[undoneId]!]!;
      } else if (this.mayTryInPass(id, optionalPass) && this.tryLinearize(id)) {
        if (this.requiredRemaining === 0) return "ok";
        optionalPass = !this.optionalWhenStuck;
        node = list.next[0]!;
      } else {
        node = list.next[node]!;
      }
    }
  }

  /** In the optional-when-stuck order, required ops go in the first pass and optional ones in the second. */
  private mayTryInPass(id: number, optionalPass: boolean): boolean {
    return !this.optionalWhenStuck || this.operations[id]!.required !== optionalPass;
  }

  /** Linearizes `id` next if the model allows it and the configuration is new. */
  private tryLinearize(id: number): boolean {
    const operation = this.operations[id]!;
    const previousId = operation.previousInterchangeableId;
    if (previousId >= 0 && !this.linearized.has(previousId)) return false;
    const nextState = applyOperation(this.state, operation.input, operation.output);
    if (nextState === undefined) return false;
    const from = this.state.lastKnownVersion;
    if (nextState.lastKnownVersion > from && this.ceilings.strands(from, nextState.lastKnownVersion, id, this.linearized)) return false;
    const nextStateId = nextState === this.state ? this.stateId : this.interner.idOf(nextState);
    this.linearized.toggle(id);
    if (!this.cache.addIfNotDominated(this.linearized, nextStateId)) {
      this.linearized.toggle(id);
      return false;
    }
    this.stackIds[this.depth] = id;
    this.stackStates[this.depth] = this.state;
    this.stackStateIds[this.depth] = this.stateId;
    this.depth++;
    this.state = nextState;
    this.stateId = nextStateId;
    lift(this.list, id);
    if (operation.required) this.requiredRemaining--;
    if (this.depth > this.longestPrefix.length) this.longestPrefix = Array.from(this.stackIds.subarray(0, this.depth));
    return true;
  }

  /** Undoes the last linearization and returns its op id. */
  private backtrack(): number {
    this.depth--;
    const id = this.stackIds[this.depth]!;
    this.state = this.stackStates[this.depth]!;
    this.stateId = this.stackStateIds[this.depth]!;
    this.linearized.toggle(id);
    unlift(this.list, id);
    if (this.operations[id]!.required) this.requiredRemaining++;
    return id;
  }
}

export const CANDIDATE_ORDERS: readonly CandidateOrder[] = ["optional early", "optional when stuck"];

/**
 * Searches for a linearization, trying each candidate order in turn until one reaches a
 * verdict within `stepBudget` steps (a step: one move of the walk, whether it
 * linearizes, skips or backtracks). A key's search thus takes at most `orders.length * stepBudget`
 * steps.
 */
export function searchLinearization(
  operations: readonly SearchOperation[],
  stepBudget: number,
  orders: readonly CandidateOrder[] = CANDIDATE_ORDERS,
): SearchOutcome {
  let steps = 0;
  let longestPrefix: readonly number[] = [];
  for (const order of orders) {
    const search = new KeySearch(operations, order);
    const verdict = search.run(stepBudget);
    steps += search.steps;
    if (verdict !== "unknown") return { verdict, steps, longestPrefix: search.longestPrefix };
    if (search.longestPrefix.length > longestPrefix.length) longestPrefix = search.longestPrefix;
  }
  return { verdict: "unknown", steps, longestPrefix };
}
