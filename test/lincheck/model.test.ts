import { describe, expect, it } from "vitest";
import type { KvInput, KvOutput } from "../../src/lincheck/index.js";
import { applyOperation, INITIAL_KEY_STATE, UNKNOWN_VERSION, versionCeiling, type KeyState } from "../../src/lincheck/model.js";

const absentAfter = (lastKnownVersion: number): KeyState => ({ present: false, value: "", version: 0, lastKnownVersion });
const known = (value: string, version: number): KeyState => ({ present: true, value, version, lastKnownVersion: version });
const unknownVersion = (value: string, lastKnownVersion: number): KeyState => ({ present: true, value, version: UNKNOWN_VERSION, lastKnownVersion });

const get: KvInput = { op: "get", key: "k" };
const put = (value: string): KvInput => ({ op: "put", key: "k", value });
const cas = (expectVersion: number, value: string): KvInput => ({ op: "cas", key: "k", expectVersion, value });
const del: KvInput = { op: "delete", key: "k" };
const found = (value: string, version: number): KvOutput => ({ op: "get", found: true, value, version });
const notFound: KvOutput = { op: "get", found: false };
const casOk = (version: number): KvOutput => ({ op: "cas", ok: true, version });
const casMismatch: KvOutput = { op: "cas", ok: false };

describe("model: get", () => {
  it("finds nothing in an absent key, and the value and version of a present one", () => {
    expect(applyOperation(INITIAL_KEY_STATE, get, notFound)).toBe(INITIAL_KEY_STATE);
    expect(applyOperation(known("a", 3), get, found("a", 3))).toEqual(known("a", 3));
    expect(applyOperation(known("a", 3), get, notFound)).toBeUndefined();
    expect(applyOperation(known("a", 3), get, found("b", 3))).toBeUndefined();
    expect(applyOperation(known("a", 3), get, found("a", 4))).toBeUndefined();
  });

  it("adopts the version it observes when the state's version is unknown, if above the last known", () => {
    expect(applyOperation(unknownVersion("a", 3), get, found("a", 7))).toEqual(known("a", 7));
    expect(applyOperation(unknownVersion("a", 3), get, found("a", 3))).toBeUndefined();
  });

  it("with an unknown outcome changes nothing, so it is never linearized (omitting it is the same)", () => {
    expect(applyOperation(known("a", 3), get, undefined)).toBeUndefined();
  });
});

describe("model: put", () => {
  it("needs a version above the last known one: versions are log indexes and only grow", () => {
    expect(applyOperation(known("a", 3), put("b"), { op: "put", version: 4 })).toEqual(known("b", 4));
    expect(applyOperation(known("a", 3), put("b"), { op: "put", version: 3 })).toBeUndefined();
    expect(applyOperation(absentAfter(5), put("b"), { op: "put", version: 4 })).toBeUndefined();
  });

  it("after an unknown version accepts any version above the last known one", () => {
    expect(applyOperation(unknownVersion("a", 3), put("b"), { op: "put", version: 4 })).toEqual(known("b", 4));
  });

  it("with an unknown outcome leaves the version unknown and the last known version as it was", () => {
    expect(applyOperation(known("a", 3), put("b"), undefined)).toEqual(unknownVersion("b", 3));
  });
});

describe("model: cas", () => {
  it("succeeds only on the expected version, or on an absent key when expecting 0", () => {
    expect(applyOperation(known("a", 3), cas(3, "b"), casOk(5))).toEqual(known("b", 5));
    expect(applyOperation(known("a", 3), cas(2, "b"), casOk(5))).toBeUndefined();
    expect(applyOperation(known("a", 3), cas(0, "b"), casOk(5))).toBeUndefined();
    expect(applyOperation(absentAfter(3), cas(0, "b"), casOk(5))).toEqual(known("b", 5));
    expect(applyOperation(absentAfter(3), cas(3, "b"), casOk(5))).toBeUndefined();
  });

  it("fails only when the condition did not hold", () => {
    expect(applyOperation(known("a", 3), cas(2, "b"), casMismatch)).toEqual(known("a", 3));
    expect(applyOperation(known("a", 3), cas(3, "b"), casMismatch)).toBeUndefined();
    expect(applyOperation(absentAfter(3), cas(0, "b"), casMismatch)).toBeUndefined();
    expect(applyOperation(absentAfter(3), cas(3, "b"), casMismatch)).toEqual(absentAfter(3));
  });

  it("on an unknown version succeeds only when expecting a version above the last known one", () => {
    expect(applyOperation(unknownVersion("a", 3), cas(6, "b"), casOk(8))).toEqual(known("b", 8));
    expect(applyOperation(unknownVersion("a", 3), cas(3, "b"), casOk(8))).toBeUndefined();
    expect(applyOperation(unknownVersion("a", 3), cas(6, "b"), casOk(6))).toBeUndefined();
  });

  it("on an unknown version may always fail: the unknown version may differ from any expectation", () => {
    expect(applyOperation(unknownVersion("a", 3), cas(6, "b"), casMismatch)).toEqual(unknownVersion("a", 3));
    expect(applyOperation(unknownVersion("a", 3), cas(0, "b"), casMismatch)).toEqual(unknownVersion("a", 3));
  });

  it("with an unknown outcome takes effect only where it could succeed, and then reveals the expected version", () => {
    expect(applyOperation(unknownVersion("a", 3), cas(6, "b"), undefined)).toEqual(unknownVersion("b", 6));
    expect(applyOperation(known("a", 3), cas(3, "b"), undefined)).toEqual(unknownVersion("b", 3));
    expect(applyOperation(known("a", 3), cas(2, "b"), undefined)).toBeUndefined();
  });
});

describe("model: delete", () => {
  it("deletes a present key and reports not-found on an absent one, keeping the last known version", () => {
    expect(applyOperation(known("a", 3), del, { op: "delete", deleted: true })).toEqual(absentAfter(3));
    expect(applyOperation(absentAfter(3), del, { op: "delete", deleted: true })).toBeUndefined();
    expect(applyOperation(absentAfter(3), del, { op: "delete", deleted: false })).toEqual(absentAfter(3));
    expect(applyOperation(known("a", 3), del, { op: "delete", deleted: false })).toBeUndefined();
  });

  it("with an unknown outcome takes effect only on a present key", () => {
    expect(applyOperation(unknownVersion("a", 3), del, undefined)).toEqual(absentAfter(3));
    expect(applyOperation(absentAfter(3), del, undefined)).toBeUndefined();
  });
});

describe("model: version ceilings", () => {
  it("is the last known version at which an op can no longer be linearized", () => {
    expect(versionCeiling({ op: "put", version: 5 })).toBe(5);
    expect(versionCeiling(casOk(5))).toBe(5);
    expect(versionCeiling(found("a", 5))).toBe(6);
    expect(versionCeiling(notFound)).toBe(Number.POSITIVE_INFINITY);
    expect(versionCeiling(undefined)).toBe(Number.POSITIVE_INFINITY);
  });

  it("agrees with the model: at the ceiling the op is refused", () => {
    expect(applyOperation(unknownVersion("a", 5), put("b"), { op: "put", version: 5 })).toBeUndefined();
    expect(applyOperation(unknownVersion("a", 5), get, found("a", 5))).toBeUndefined();
    expect(applyOperation(known("a", 6), get, found("a", 5))).toBeUndefined();
  });
});

it("model: rejects an output that does not match its input", () => {
  expect(() => applyOperation(INITIAL_KEY_STATE, get, { op: "put", version: 1 })).toThrow(/input is get but output is put/);
});
