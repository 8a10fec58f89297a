import { describe, expect, it } from "vitest";
import type { KvCommand, KvResult } from "../../src/kv/index.js";
import { Replica, T0_MS, fromUtf8, utf8 } from "./helpers.js";

/** Each scenario: optional setup value for "k" (flags 7, ttl 60 s), then one command. */
interface Scenario {
  readonly name: string;
  readonly initial?: string;
  readonly command: KvCommand;
  readonly expected: Partial<KvResult> & { ok: boolean };
  readonly valueAfter: string | undefined;
}

const k = utf8("k");
const MAX = "18446744073709551615";

const scenarios: Scenario[] = [
  {
    name: "add stores an absent key",
    command: { type: "add", key: k, value: utf8("a") },
    expected: { ok: true, kind: "stored" },
    valueAfter: "a",
  },
  {
    name: "add on a present key fails with exists",
    initial: "x",
    command: { type: "add", key: k, value: utf8("a") },
    expected: { ok: false, error: "exists", currentVersion: 1 },
    valueAfter: "x",
  },
  {
    name: "replace on a present key stores",
    initial: "x",
    command: { type: "replace", key: k, value: utf8("r") },
    expected: { ok: true, kind: "stored", createVersion: 1 },
    valueAfter: "r",
  },
  {
    name: "replace on an absent key fails with not-found",
    command: { type: "replace", key: k, value: utf8("r") },
    expected: { ok: false, error: "not-found" },
    valueAfter: undefined,
  },
  {
    name: "append adds after the value",
    initial: "ab",
    command: { type: "append", key: k, value: utf8("cd") },
    expected: { ok: true, kind: "stored", version: 2 },
    valueAfter: "abcd",
  },
  {
    name: "prepend adds before the value",
    initial: "ab",
    command: { type: "prepend", key: k, value: utf8("cd") },
    expected: { ok: true, kind: "stored" },
    valueAfter: "cdab",
  },
  {
    name: "append on a missing key fails with not-found",
    command: { type: "append", key: k, value: utf8("cd") },
    expected: { ok: false, error: "not-found" },
    valueAfter: undefined,
  },
  {
    name: "prepend on a missing key fails with not-found",
    command: { type: "prepend", key: k, value: utf8("cd") },
    expected: { ok: false, error: "not-found" },
    valueAfter: undefined,
  },
  {
    name: "incr adds the delta",
    initial: "41",
    command: { type: "incr", key: k, delta: 1n },
    expected: { ok: true, kind: "counter", value: 42n, version: 2 },
    valueAfter: "42",
  },
  {
    name: "incr wraps at 2^64",
    initial: MAX,
    command: { type: "incr", key: k, delta: 2n },
    expected: { ok: true, value: 1n },
    valueAfter: "1",
  },
  {
    name: "incr by 2^64 - 1 wraps to one less",
    initial: "5",
    command: { type: "incr", key: k, delta: 2n ** 64n - 1n },
    expected: { ok: true, value: 4n },
    valueAfter: "4",
  },
  {
    name: "decr subtracts the delta",
    initial: "10",
    command: { type: "decr", key: k, delta: 3n },
    expected: { ok: true, value: 7n },
    valueAfter: "7",
  },
  {
    name: "decr floors at 0",
    initial: "2",
    command: { type: "decr", key: k, delta: 5n },
    expected: { ok: true, value: 0n },
    valueAfter: "0",
  },
  {
    name: "decr shortens the value",
    initial: "100",
    command: { type: "decr", key: k, delta: 1n },
    expected: { ok: true, value: 99n },
    valueAfter: "99",
  },
  {
    name: "incr accepts leading zeros",
    initial: "007",
    command: { type: "incr", key: k, delta: 1n },
    expected: { ok: true, value: 8n },
    valueAfter: "8",
  },
  {
    name: "incr on a missing key fails with not-found",
    command: { type: "incr", key: k, delta: 1n },
    expected: { ok: false, error: "not-found" },
    valueAfter: undefined,
  },
  {
    name: "incr on text fails with not-a-number",
    initial: "12a",
    command: { type: "incr", key: k, delta: 1n },
    expected: { ok: false, error: "not-a-number" },
    valueAfter: "12a",
  },
  {
    name: "incr on an empty value fails with not-a-number",
    initial: "",
    command: { type: "incr", key: k, delta: 1n },
    expected: { ok: false, error: "not-a-number" },
    valueAfter: "",
  },
  {
    name: "incr on a negative number fails with not-a-number",
    initial: "-1",
    command: { type: "incr", key: k, delta: 1n },
    expected: { ok: false, error: "not-a-number" },
    valueAfter: "-1",
  },
  {
    name: "decr on 2^64 fails with not-a-number",
    initial: "18446744073709551616",
    command: { type: "decr", key: k, delta: 1n },
    expected: { ok: false, error: "not-a-number" },
    valueAfter: "18446744073709551616",
  },
  {
    name: "touch on a missing key fails with not-found",
    command: { type: "touch", key: k, ttlMs: 5 },
    expected: { ok: false, error: "not-found" },
    valueAfter: undefined,
  },
  {
    name: "touch keeps the version",
    initial: "x",
    command: { type: "touch", key: k, ttlMs: 5 },
    expected: { ok: true, kind: "touched", version: 1, expiresAtMs: T0_MS + 5 },
    valueAfter: "x",
  },
  {
    name: "flush-all removes every key",
    initial: "x",
    command: { type: "flush-all" },
    expected: { ok: true, kind: "flushed", deletedCount: 1 },
    valueAfter: undefined,
  },
];

describe("memcached operations", () => {
  it.each(scenarios)("$name", ({ initial, command, expected, valueAfter }) => {
    const replica = new Replica();
    if (initial !== undefined) replica.put("k", initial, { flags: 7, ttlMs: 60_000 });
    expect(replica.apply(command)).toMatchObject(expected);
    expect(replica.value("k")).toBe(valueAfter);
  });

  it("append, prepend, incr and decr keep the flags and the expiry", () => {
    const replica = new Replica();
    replica.put("k", "1", { flags: 7, ttlMs: 60_000 });
    replica.apply({ type: "append", key: k, value: utf8("0") });
    replica.apply({ type: "incr", key: k, delta: 5n });
    replica.apply({ type: "prepend", key: k, value: utf8("1") });
    replica.apply({ type: "decr", key: k, delta: 1n });
    expect(replica.machine.get(k, T0_MS)).toMatchObject({ kv: { flags: 7, expiresAtMs: T0_MS + 60_000, createVersion: 1, version: 5 } });
    expect(replica.value("k")).toBe("114");
  });

  it("add, replace and put replace the flags and the expiry", () => {
    const replica = new Replica();
    replica.put("k", "1", { flags: 7, ttlMs: 60_000 });
    replica.apply({ type: "replace", key: k, value: utf8("2") });
    const got = replica.machine.get(k, T0_MS);
    expect(got.ok && got.kv.flags).toBe(0);
    expect(got.ok && got.kv.expiresAtMs).toBeUndefined();
  });

  it("touch without ttlMs makes a key permanent", () => {
    const replica = new Replica();
    replica.put("k", "1", { ttlMs: 10 });
    expect(replica.apply({ type: "touch", key: k })).toStrictEqual({ ok: true, kind: "touched", revision: 2, version: 1 });
    replica.apply({ type: "tick" }, T0_MS + 1_000);
    expect(replica.value("k")).toBe("1");
  });

  it("a counter result is the decimal value stored", () => {
    const replica = new Replica();
    replica.put("k", "0");
    const result = replica.apply({ type: "incr", key: k, delta: 2n ** 63n });
    const got = replica.machine.get(k, 0);
    expect(result.ok && result.kind === "counter" && result.value).toBe(2n ** 63n);
    expect(got.ok && fromUtf8(got.kv.value)).toBe((2n ** 63n).toString());
  });

  it("flush-all keeps sessions and leaves one flush event", () => {
    const replica = new Replica();
    const sessionId = replica.registerSession();
    replica.put("a", "1");
    replica.put("b", "2");
    expect(replica.apply({ type: "flush-all" })).toMatchObject({ deletedCount: 2 });
    expect(replica.machine.keyCount()).toBe(0);
    expect(replica.machine.sizeBytes()).toBe(0);
    expect(replica.machine.sessionCount()).toBe(1);
    expect(replica.put("a", "3", { session: { sessionId, seq: 1, lowestUnackedSeq: 1 } })).toMatchObject({ ok: true });
    const events = replica.machine.eventsSince(4);
    expect(events.ok && events.events).toStrictEqual([{ type: "flush", revision: 4 }, expect.objectContaining({ type: "put", revision: 5 })]);
  });
});
