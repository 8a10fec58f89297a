import { describe, expect, it } from "vitest";
import { InvariantError } from "../../src/assert/invariant.js";
import {
  CommandDecodeError,
  DEFAULT_KV_CONFIG,
  KvConfigError,
  KvStateMachine,
  checkCommand,
  encodeCommand,
  validateKvConfig,
  type KvCommand,
  type KvConfig,
} from "../../src/kv/index.js";
import { Replica, utf8 } from "./helpers.js";

describe("config validation", () => {
  it("fills defaults and freezes the result", () => {
    const config = validateKvConfig({ sessionsMax: 10 });
    expect(config).toStrictEqual({ ...DEFAULT_KV_CONFIG, sessionsMax: 10 });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it.each([
    { name: "zero", partial: { keyBytesMax: 0 }, field: "keyBytesMax", reason: /must be an integer in \[1, 65536\] bytes, got 0/ },
    { name: "a fraction", partial: { sessionTimeoutMs: 1.5 }, field: "sessionTimeoutMs", reason: /must be an integer in \[1, \d+\] ms, got 1.5/ },
    { name: "NaN", partial: { sessionsMax: Number.NaN }, field: "sessionsMax", reason: /must be an integer/ },
    { name: "above the bound", partial: { valueBytesMax: 2 ** 40 }, field: "valueBytesMax", reason: /valueBytesMax must be an integer in \[1, 67108864\] bytes, got 1099511627776/ },
    {
      name: "an unknown field",
      partial: { keyBytesMaxx: 5 } as Partial<KvConfig>,
      field: "keyBytesMaxx",
      reason: /is not a kv config field/,
    },
  ])("rejects $name with KvConfigError naming the field", ({ partial, field, reason }) => {
    expect(() => new KvStateMachine(partial)).toThrow(reason);
    try {
      validateKvConfig(partial);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(KvConfigError);
      expect((error as KvConfigError).field).toBe(field);
      expect((error as Error).message).toContain(field);
    }
  });
});

describe("limits are enforced in apply with clear errors", () => {
  const config = { keyBytesMax: 4, valueBytesMax: 6, ttlMsMax: 1_000 };
  const scenarios: { name: string; command: KvCommand; error: string; message: RegExp }[] = [
    {
      name: "a key over keyBytesMax",
      command: { type: "put", key: utf8("12345"), value: utf8("") },
      error: "too-large",
      message: /key is 5 bytes, over the limit of 4 \(keyBytesMax\)/,
    },
    {
      name: "a value over valueBytesMax",
      command: { type: "put", key: utf8("k"), value: utf8("1234567") },
      error: "too-large",
      message: /value is 7 bytes, over the limit of 6 \(valueBytesMax\)/,
    },
    {
      name: "an append past valueBytesMax",
      command: { type: "append", key: utf8("k"), value: utf8("abc") },
      error: "too-large",
      message: /value after append is 7 bytes/,
    },
    { name: "an empty key", command: { type: "delete", key: new Uint8Array(0) }, error: "invalid-argument", message: /key is empty/ },
    {
      name: "a ttl of 0",
      command: { type: "put", key: utf8("k"), value: utf8(""), ttlMs: 0 },
      error: "invalid-argument",
      message: /ttlMs 0 is outside \[1, 1000\]/,
    },
    {
      name: "a ttl over ttlMsMax",
      command: { type: "touch", key: utf8("k"), ttlMs: 1_001 },
      error: "invalid-argument",
      message: /ttlMsMax/,
    },
  ];
  it.each(scenarios)("refuses $name", ({ command, error, message }) => {
    const replica = new Replica(config);
    replica.put("k", "1234");
    const result = replica.apply(command);
    expect(result).toMatchObject({ ok: false, error, revision: 2 });
    expect(!result.ok && result.message).toMatch(message);
    expect(replica.value("k")).toBe("1234");
    expect(replica.machine.appliedIndex).toBe(2);
  });

  it("an incr whose result outgrows a tiny valueBytesMax is refused", () => {
    const replica = new Replica({ valueBytesMax: 1 });
    replica.put("k", "9");
    expect(replica.apply({ type: "incr", key: utf8("k"), delta: 1n })).toMatchObject({ ok: false, error: "too-large" });
    expect(replica.value("k")).toBe("9");
  });

  it("checkCommand gives the leader the same answer before proposing", () => {
    const full = validateKvConfig(config);
    expect(checkCommand({ type: "put", key: utf8("12345"), value: utf8("") }, full, 7)).toMatchObject({ error: "too-large", revision: 7 });
    expect(checkCommand({ type: "put", key: utf8("k"), value: utf8("") }, full, 7)).toBeUndefined();
  });
});

describe("apply order and input", () => {
  it("throws InvariantError naming both indexes when an entry is skipped", () => {
    const machine = new KvStateMachine();
    machine.applyNoop(1);
    expect(() => machine.applyNoop(3)).toThrow(InvariantError);
    expect(() => machine.applyNoop(3)).toThrow(/index == appliedIndex \+ 1 \(expected 2, got 3\)/);
    expect(() => machine.apply(1, new Uint8Array(0))).toThrow(/expected 2, got 1/);
  });

  it("a command that does not decode throws CommandDecodeError and applies nothing", () => {
    const machine = new KvStateMachine();
    expect(() => machine.apply(1, Uint8Array.of(1, 99))).toThrow(CommandDecodeError);
    expect(machine.appliedIndex).toBe(0);
    machine.applyNoop(1);
    expect(machine.appliedIndex).toBe(1);
  });

  it("regression: keys and values are copied out of the entry, even from a Node Buffer (whose slice is a view)", () => {
    const machine = new KvStateMachine();
    const entry = Buffer.from(encodeCommand({ stampMs: 1, command: { type: "put", key: utf8("k"), value: utf8("v") } }));
    machine.apply(1, entry);
    entry.fill(0); // storage reuses its read buffer
    const got = machine.get(utf8("k"), 1);
    expect(got.ok && got.kv.value).toStrictEqual(utf8("v"));
  });

  it("local limits (event history, list pages) do not change the replicated state", () => {
    const a = new Replica({ eventHistoryMax: 1, listLimitMax: 1 });
    const b = new Replica();
    for (const replica of [a, b]) {
      replica.put("k", "v");
      replica.apply({ type: "delete", key: utf8("k") });
    }
    expect(a.machine.digest()).toBe(b.machine.digest());
  });
});

describe("size accounting and quota", () => {
  it("sizeBytes counts keys and values through writes, deletes, expiry and flush", () => {
    const replica = new Replica();
    replica.put("ab", "123");
    replica.put("c", "", { ttlMs: 10 });
    expect(replica.machine.sizeBytes()).toBe(6);
    replica.put("ab", "1");
    replica.apply({ type: "append", key: utf8("ab"), value: utf8("xyz") });
    expect(replica.machine.sizeBytes()).toBe(7);
    replica.apply({ type: "tick" }, replica.stampMs + 10);
    expect(replica.machine.sizeBytes()).toBe(6);
    replica.apply({ type: "delete", key: utf8("ab") });
    expect(replica.machine.sizeBytes()).toBe(0);
  });

  const quotaCases: { name: string; command: KvCommand; exceeds: boolean }[] = [
    { name: "a new key that does not fit", command: { type: "put", key: utf8("new"), value: utf8("1234") }, exceeds: true },
    { name: "a new key that fits exactly", command: { type: "put", key: utf8("n"), value: utf8("1") }, exceeds: false },
    { name: "a same-size overwrite", command: { type: "put", key: utf8("k"), value: utf8("abcdefgh") }, exceeds: false },
    { name: "a growing overwrite", command: { type: "replace", key: utf8("k"), value: utf8("abcdefghijk") }, exceeds: true },
    { name: "an append", command: { type: "append", key: utf8("k"), value: utf8("xyz") }, exceeds: true },
    {
      name: "an append to a missing key (it will fail anyway)",
      command: { type: "append", key: utf8("zz"), value: utf8("xyz") },
      exceeds: false,
    },
    { name: "a delete", command: { type: "delete", key: utf8("k") }, exceeds: false },
    { name: "a touch", command: { type: "touch", key: utf8("k"), ttlMs: 5 }, exceeds: false },
    { name: "a flush-all", command: { type: "flush-all" }, exceeds: false },
    { name: "a session registration", command: { type: "register-session" }, exceeds: false },
  ];
  it.each(quotaCases)("wouldExceedQuota judges $name (quota 11, 9 used)", ({ command, exceeds }) => {
    const replica = new Replica();
    replica.put("k", "abcdefgh");
    expect(replica.machine.sizeBytes()).toBe(9);
    expect(replica.machine.wouldExceedQuota(command, 11)).toBe(exceeds);
  });
});
