import { describe, expect, it } from "vitest";
import type { KvCommand } from "../../src/kv/index.js";
import { Replica, T0_MS, fromUtf8, utf8 } from "./helpers.js";

const k = utf8("k");

describe("expiry is judged by entry stamps only", () => {
  it("a key expires exactly at its stamp: visible 1 ms before, gone at it", () => {
    const replica = new Replica();
    replica.put("k", "v", { ttlMs: 1_000 });
    expect(replica.value("k", T0_MS + 999)).toBe("v");
    expect(replica.value("k", T0_MS + 1_000)).toBeUndefined();
  });

  it("nextDeadlineMs names the earliest key expiry, and moves on once a tick past it applies (what an idle leader ticks for)", () => {
    const replica = new Replica();
    expect(replica.machine.nextDeadlineMs()).toBeUndefined();
    replica.put("k", "v", { ttlMs: 1_000 });
    replica.put("later", "v", { ttlMs: 5_000 });
    expect(replica.machine.nextDeadlineMs()).toBe(T0_MS + 1_000);
    replica.apply({ type: "tick" }, T0_MS + 1_000);
    expect(replica.machine.nextDeadlineMs()).toBe(T0_MS + 5_000);
    replica.apply({ type: "tick" }, T0_MS + 5_000);
    expect(replica.machine.nextDeadlineMs()).toBeUndefined();
  });

  it("the first entry stamped at or after the expiry removes the key and records an expired delete", () => {
    const replica = new Replica();
    replica.put("k", "v", { ttlMs: 1_000 });
    replica.apply({ type: "tick" }, T0_MS + 999);
    expect(replica.machine.keyCount()).toBe(1);
    replica.apply({ type: "tick" }, T0_MS + 1_000);
    expect(replica.machine.keyCount()).toBe(0);
    const events = replica.machine.eventsSince(3);
    expect(events.ok && events.events).toStrictEqual([{ type: "delete", revision: 3, key: k, previousVersion: 1, expired: true }]);
  });

  it("entries without a command (no-ops) do not move time or expire keys", () => {
    const replica = new Replica();
    replica.put("k", "v", { ttlMs: 1_000 });
    replica.noop();
    expect(replica.machine.keyCount()).toBe(1);
    expect(replica.machine.lastStampMs).toBe(T0_MS);
  });

  it("a read never sees time behind the state machine's clock", () => {
    const replica = new Replica();
    replica.put("k", "v", { ttlMs: 1_000 });
    replica.put("other", "x", {}); // same stamp: k survives
    replica.apply({ type: "tick" }, T0_MS + 500);
    expect(replica.value("k", T0_MS)).toBe("v");
    replica.apply({ type: "tick" }, T0_MS + 2_000);
    expect(replica.value("k", 0)).toBeUndefined();
  });

  it("a stamp lower than the last applied one is clamped: ttl counts from the later time", () => {
    const replica = new Replica();
    replica.apply({ type: "tick" }, T0_MS + 10_000);
    expect(replica.put("k", "v", { ttlMs: 1_000 })).toMatchObject({ ok: true });
    replica.apply({ type: "touch", key: k, ttlMs: 1_000 }, T0_MS);
    const got = replica.machine.get(k, 0);
    expect(got.ok && got.kv.expiresAtMs).toBe(T0_MS + 11_000);
    expect(replica.machine.lastStampMs).toBe(T0_MS + 10_000);
  });

  it("an expired key is gone before the command at that stamp runs: add succeeds, replace fails", () => {
    const replica = new Replica();
    replica.put("k", "old", { ttlMs: 100 });
    replica.put("j", "old", { ttlMs: 100 });
    expect(replica.apply({ type: "add", key: k, value: utf8("new") }, T0_MS + 100)).toMatchObject({ ok: true, createVersion: 3 });
    expect(replica.apply({ type: "replace", key: utf8("j"), value: utf8("new") })).toMatchObject({ error: "not-found" });
  });

  it("keys expiring at the same stamp are removed in key byte order", () => {
    const replica = new Replica();
    for (const key of ["b", "a", "c\u0000", "c"]) replica.put(key, "v", { ttlMs: 50 });
    replica.put("later", "v", { ttlMs: 51 });
    replica.apply({ type: "tick" }, T0_MS + 50);
    const events = replica.machine.eventsSince(6);
    expect(events.ok && events.events.map((event) => event.type === "delete" && fromUtf8(event.key))).toStrictEqual(["a", "b", "c", "c\u0000"]);
  });

  it("rewriting or touching a key replaces its expiry (old expiries do not delete it)", () => {
    const replica = new Replica();
    replica.put("k", "v1", { ttlMs: 100 });
    replica.put("k", "v2", { ttlMs: 300 });
    replica.put("k", "v3", { ttlMs: 100 });
    replica.apply({ type: "touch", key: k, ttlMs: 500 });
    replica.apply({ type: "tick" }, T0_MS + 499);
    expect(replica.value("k")).toBe("v3");
    replica.apply({ type: "tick" }, T0_MS + 500);
    expect(replica.value("k")).toBeUndefined();
  });

  it("many rewrites of expiring keys expire exactly the keys that are due", () => {
    const replica = new Replica();
    for (let round = 0; round < 3_000; round++) {
      replica.put(`k${round % 50}`, "v", { ttlMs: 1_000 + (round % 7) });
    }
    replica.apply({ type: "tick" }, T0_MS + 1_003);
    // Keys whose last write used (round % 7) <= 3 are due.
    const survivors = Array.from({ length: 50 }, (_, i) => i).filter((i) => (2_950 + i) % 7 > 3);
    expect(replica.machine.keyCount()).toBe(survivors.length);
    for (const i of survivors) expect(replica.value(`k${i}`)).toBe("v");
  });

  it("two replicas reading with different clocks apply the same entries to the same state", () => {
    const script: { stampMs: number; command: KvCommand }[] = [
      { stampMs: T0_MS, command: { type: "put", key: k, value: utf8("v"), ttlMs: 1_000 } },
      { stampMs: T0_MS + 400, command: { type: "put", key: utf8("j"), value: utf8("w"), ttlMs: 700 } },
      { stampMs: T0_MS + 999, command: { type: "append", key: k, value: utf8("+") } },
      { stampMs: T0_MS + 1_000, command: { type: "append", key: k, value: utf8("+") } },
      { stampMs: T0_MS + 1_100, command: { type: "add", key: utf8("j"), value: utf8("again") } },
    ];
    const fast = new Replica();
    const slow = new Replica();
    for (const [step, { stampMs, command }] of script.entries()) {
      // Reads with wildly different clocks between entries must not change anything.
      fast.machine.get(k, stampMs + 1e9);
      slow.machine.get(k, 0);
      expect(fast.apply(command, stampMs)).toStrictEqual(slow.apply(command, stampMs));
      expect(fast.machine.digest(), `after step ${step}`).toBe(slow.machine.digest());
    }
    expect(fast.value("k")).toBeUndefined();
    expect(fast.value("j")).toBe("again");
  });
});
