import { describe, expect, it } from "vitest";
import { prepareKey } from "../../src/lincheck/prepare.js";
import { casUnknown, del, delUnknown, get, put, putUnknown } from "./builders.js";

describe("prepare: the search's view of one key", () => {
  it("drops gets with unknown outcomes and keeps everything else in history order", () => {
    const lostRead = { ...get("k", undefined, [0, 1]), output: undefined };
    const history = [put("k", "a", 1, [0, 1]), lostRead, delUnknown("k", 2)];
    expect(prepareKey(history).operations).toEqual([history[0], history[2]]);
  });

  it("replaces every value no get returned by one token, so that such states compare equal", () => {
    const { searchOperations } = prepareKey([put("k", "seen", 1, [0, 1]), put("k", "unseen-1", 2, [2, 3]), putUnknown("k", "unseen-2", 4), get("k", ["seen", 1], [0, 1])]);
    const values = searchOperations.map((operation) => ("value" in operation.input ? operation.input.value : undefined));
    expect(values[0]).toBe("seen");
    expect(values[1]).not.toBe("unseen-1");
    expect(values[2]).toBe(values[1]);
  });

  it("makes a timed-out write that a get observed required, due by that get's earliest return", () => {
    const history = [putUnknown("k", "b", 0), get("k", ["b", 4], [10, 20]), get("k", ["b", 4], [5, 12]), putUnknown("k", "c", 1)];
    const [observed, , , unobserved] = prepareKey(history).searchOperations;
    expect(observed).toMatchObject({ required: true, returnTime: 12 });
    expect(unobserved).toMatchObject({ required: false, returnTime: Number.POSITIVE_INFINITY });
  });

  it("keeps a timed-out write optional when another write wrote the same value", () => {
    const [, timedOut] = prepareKey([put("k", "b", 1, [0, 1]), putUnknown("k", "b", 2), get("k", ["b", 1], [3, 4])]).searchOperations;
    expect(timedOut).toMatchObject({ required: false });
  });

  it("chains interchangeable optional ops in call order; different inputs are not interchangeable", () => {
    const history = [delUnknown("k", 5), delUnknown("k", 1), casUnknown("k", 3, "x", 2), casUnknown("k", 4, "y", 3), casUnknown("k", 3, "z", 4), del("k", false, [0, 1])];
    const chain = prepareKey(history).searchOperations.map((operation) => operation.previousInterchangeableId);
    // delete@5 follows delete@1; cas(3) "z" follows cas(3) "x" (both values unobserved); cas(4) stands alone.
    expect(chain).toEqual([1, -1, -1, -1, 2, -1]);
  });

  it("treats an op with no output but a give-up time as returning never", () => {
    const gaveUp = { ...put("k", "b", 0, [2, 3]), output: undefined };
    expect(prepareKey([gaveUp]).searchOperations[0]).toMatchObject({ required: false, returnTime: Number.POSITIVE_INFINITY });
  });
});
