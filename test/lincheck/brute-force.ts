import type { Operation } from "../../src/lincheck/index.js";
import { applyOperation, INITIAL_KEY_STATE, type KeyState } from "../../src/lincheck/model.js";

/**
 * The definition of linearizability, checked by trying every order: a reference for the
 * search on small single-key histories. It shares only the model with the checker: no
 * event list, cache, reductions or pruning. An op may go next when no unplaced op with a
 * known outcome returned before it was called; ops with unknown outcomes may be left out.
 */
export function isLinearizableByEnumeration(history: readonly Operation[]): boolean {
  const placed = history.map(() => false);
  const knownCount = history.filter((operation) => operation.output !== undefined).length;

  const mayGoNext = (candidate: Operation): boolean =>
    history.every((other, i) => placed[i] || other === candidate || other.output === undefined || !(other.returnTime < candidate.callTime));

  const extend = (state: KeyState, knownPlaced: number): boolean => {
    if (knownPlaced === knownCount) return true;
    for (let i = 0; i < history.length; i++) {
      const operation = history[i]!;
      if (placed[i] || !mayGoNext(operation)) continue;
      const next = applyOperation(state, operation.input, operation.output);
      if (next === undefined) continue;
      placed[i] = true;
      const found = extend(next, knownPlaced + (operation.output === undefined ? 0 : 1));
      placed[i] = false;
      if (found) return true;
    }
    return false;
  };
  return extend(INITIAL_KEY_STATE, 0);
}
