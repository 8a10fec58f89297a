import { describe, expect, it } from "vitest";
import { Replica, T0_MS, ref, utf8 } from "./helpers.js";

const k = utf8("k");

describe("raft §6.3: exactly-once writes through client sessions", () => {
  it("register-session returns the entry's index as the session id", () => {
    const replica = new Replica();
    replica.noop();
    expect(replica.apply({ type: "register-session" })).toStrictEqual({ ok: true, kind: "session-registered", revision: 2, sessionId: 2 });
  });

  it("a retried write returns its first result and is not applied again", () => {
    const replica = new Replica();
    const id = replica.registerSession();
    replica.put("k", "0");
    const first = replica.apply({ type: "incr", key: k, delta: 1n, session: ref(id, 1) });
    replica.put("other", "x");
    const retry = replica.apply({ type: "incr", key: k, delta: 1n, session: ref(id, 1) });
    expect(retry).toStrictEqual(first);
    expect(first).toMatchObject({ revision: 3, value: 1n });
    expect(replica.value("k")).toBe("1");
  });

  it("a retried failed write returns the same failure, even though it would now succeed", () => {
    const replica = new Replica();
    const id = replica.registerSession();
    const first = replica.apply({ type: "put", key: k, value: utf8("v"), expectVersion: 7, session: ref(id, 1) });
    expect(first).toMatchObject({ ok: false, error: "version-mismatch", revision: 2 });
    replica.put("k", "x");
    replica.put("k", "y");
    replica.put("k", "z");
    replica.put("k", "w");
    replica.put("k", "u"); // now at version 7
    expect(replica.apply({ type: "put", key: k, value: utf8("v"), expectVersion: 7, session: ref(id, 1) })).toStrictEqual(first);
    expect(replica.value("k")).toBe("u");
  });

  it("replies below lowestUnackedSeq are dropped, and their retries are refused as stale-sequence", () => {
    const replica = new Replica();
    const id = replica.registerSession();
    replica.apply({ type: "put", key: k, value: utf8("1"), session: ref(id, 1, 1) });
    replica.apply({ type: "put", key: k, value: utf8("2"), session: ref(id, 2, 2) });
    const stale = replica.apply({ type: "put", key: k, value: utf8("1"), session: ref(id, 1, 1) });
    expect(stale).toMatchObject({ ok: false, error: "stale-sequence", revision: 4 });
    expect(replica.value("k")).toBe("2");
  });

  it("a write on an unknown session fails with session-expired and is never applied", () => {
    const replica = new Replica();
    const result = replica.apply({ type: "put", key: k, value: utf8("v"), session: ref(99, 1) });
    expect(result).toMatchObject({ ok: false, error: "session-expired", revision: 1 });
    expect(replica.value("k")).toBeUndefined();
    expect(replica.machine.eventsSince(1)).toMatchObject({ ok: true, events: [] });
  });

  it("a session unused for sessionTimeoutMs of stamp time expires at the first entry stamped that late", () => {
    const replica = new Replica({ sessionTimeoutMs: 1_000 });
    const id = replica.registerSession();
    replica.apply({ type: "tick" }, T0_MS + 999);
    expect(replica.machine.sessionCount()).toBe(1);
    const result = replica.apply({ type: "put", key: k, value: utf8("v"), session: ref(id, 1) }, T0_MS + 1_000);
    expect(result).toMatchObject({ ok: false, error: "session-expired" });
    expect(replica.machine.sessionCount()).toBe(0);
    expect(replica.value("k")).toBeUndefined();
  });

  it("every write on a session, even a retry, keeps it alive", () => {
    const replica = new Replica({ sessionTimeoutMs: 1_000 });
    const id = replica.registerSession();
    for (let step = 1; step <= 5; step++) {
      const result = replica.apply({ type: "tick" }, T0_MS + step * 900);
      expect(result.ok).toBe(true);
      replica.apply({ type: "put", key: k, value: utf8("v"), session: ref(id, 1) });
    }
    expect(replica.machine.sessionCount()).toBe(1);
  });

  it("a stamp that goes backwards does not revive or expire sessions", () => {
    const replica = new Replica({ sessionTimeoutMs: 1_000 });
    const id = replica.registerSession();
    replica.apply({ type: "tick" }, T0_MS + 5_000);
    // The new leader's clock lags: time stays at T0 + 5 s, and the session stays expired.
    const result = replica.apply({ type: "put", key: k, value: utf8("v"), session: ref(id, 1) }, T0_MS);
    expect(result).toMatchObject({ error: "session-expired" });
    expect(replica.machine.lastStampMs).toBe(T0_MS + 5_000);
  });

  it("at sessionsMax, registering evicts the longest idle session", () => {
    const replica = new Replica({ sessionsMax: 2 });
    const a = replica.registerSession();
    const b = replica.registerSession();
    replica.apply({ type: "put", key: k, value: utf8("v"), session: ref(a, 1) }); // a is now the most recent
    replica.registerSession(); // evicts b
    expect(replica.apply({ type: "delete", key: k, session: ref(b, 1) })).toMatchObject({ error: "session-expired" });
    expect(replica.apply({ type: "delete", key: k, session: ref(a, 2) })).toMatchObject({ ok: true, kind: "deleted" });
  });

  it("at sessionRepliesMax unacknowledged replies, new writes fail with too-many-pending and are not applied", () => {
    const replica = new Replica({ sessionRepliesMax: 2 });
    const id = replica.registerSession();
    replica.put("a", "1", { session: ref(id, 1, 1) });
    replica.put("b", "2", { session: ref(id, 2, 1) });
    expect(replica.put("c", "3", { session: ref(id, 3, 1) })).toMatchObject({ ok: false, error: "too-many-pending" });
    expect(replica.value("c")).toBeUndefined();
    // Retries still answer from the cache, and acknowledging frees room.
    expect(replica.put("a", "1", { session: ref(id, 1, 1) })).toMatchObject({ ok: true, revision: 2 });
    expect(replica.put("c", "3", { session: ref(id, 3, 2) })).toMatchObject({ ok: true, revision: 6 });
    expect(replica.value("c")).toBe("3");
  });

  it("a lowestUnackedSeq above seq is refused as invalid-argument", () => {
    const replica = new Replica();
    const id = replica.registerSession();
    expect(replica.put("a", "1", { session: ref(id, 1, 2) })).toMatchObject({ ok: false, error: "invalid-argument" });
    expect(replica.value("a")).toBeUndefined();
  });

  it("close-session frees the session; writes on it then fail with session-expired", () => {
    const replica = new Replica();
    const id = replica.registerSession();
    expect(replica.apply({ type: "close-session", sessionId: id })).toMatchObject({ ok: true, kind: "session-closed" });
    expect(replica.apply({ type: "close-session", sessionId: id })).toMatchObject({ ok: false, error: "session-expired" });
    expect(replica.put("a", "1", { session: ref(id, 1) })).toMatchObject({ error: "session-expired" });
  });

  it("session writes and plain writes interleave: only session writes are deduplicated", () => {
    const replica = new Replica();
    const id = replica.registerSession();
    replica.put("n", "0");
    replica.apply({ type: "incr", key: utf8("n"), delta: 1n });
    replica.apply({ type: "incr", key: utf8("n"), delta: 1n });
    replica.apply({ type: "incr", key: utf8("n"), delta: 1n, session: ref(id, 1) });
    replica.apply({ type: "incr", key: utf8("n"), delta: 1n, session: ref(id, 1) });
    expect(replica.value("n")).toBe("3");
  });
});
