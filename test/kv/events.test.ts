import { describe, expect, it } from "vitest";
import { KvArgumentError, KvStateMachine, type KvEvent } from "../../src/kv/index.js";
import { Replica, fromUtf8, utf8 } from "./helpers.js";

function describeEvents(events: KvEvent[]): string[] {
  return events.map((event) => (event.type === "flush" ? `flush@${event.revision}` : `${event.type} ${fromUtf8(event.key)}@${event.revision}`));
}

describe("watch events", () => {
  it("records puts and deletes with key, value, versions and revision", () => {
    const replica = new Replica();
    replica.put("k", "v1", { flags: 3 });
    replica.put("k", "v2");
    replica.apply({ type: "delete", key: utf8("k") });
    const result = replica.machine.eventsSince(1);
    expect(result).toStrictEqual({
      ok: true,
      revision: 3,
      nextRevision: 4,
      events: [
        { type: "put", revision: 1, key: utf8("k"), value: utf8("v1"), flags: 3, version: 1, createVersion: 1 },
        { type: "put", revision: 2, key: utf8("k"), value: utf8("v2"), flags: 0, version: 2, createVersion: 1 },
        { type: "delete", revision: 3, key: utf8("k"), previousVersion: 2, expired: false },
      ],
    });
  });

  it("returns events at or after the revision whose key has the prefix", () => {
    const replica = new Replica();
    for (const key of ["a/1", "b/1", "a/2", "a", "a/3"]) replica.put(key, "v");
    const result = replica.machine.eventsSince(2, utf8("a/"));
    expect(result.ok && describeEvents(result.events)).toStrictEqual(["put a/2@3", "put a/3@5"]);
  });

  it("failed writes and touches record no event", () => {
    const replica = new Replica();
    replica.put("k", "v");
    replica.apply({ type: "add", key: utf8("k"), value: utf8("w") });
    replica.apply({ type: "touch", key: utf8("k"), ttlMs: 5_000 });
    const result = replica.machine.eventsSince(2);
    expect(result.ok && result.events).toStrictEqual([]);
  });

  it("a revision not yet reached returns no events and asks to resume there", () => {
    const replica = new Replica();
    replica.put("k", "v");
    expect(replica.machine.eventsSince(10)).toStrictEqual({ ok: true, revision: 1, events: [], nextRevision: 10 });
  });

  it("a trimmed history answers compacted with the oldest revision it still has", () => {
    const replica = new Replica({ eventHistoryMax: 3 });
    for (let i = 0; i < 5; i++) replica.put(`k${i}`, "v");
    expect(replica.machine.eventsSince(2)).toMatchObject({ ok: false, error: "compacted", compactRevision: 3, revision: 5 });
    const kept = replica.machine.eventsSince(3);
    expect(kept.ok && describeEvents(kept.events)).toStrictEqual(["put k2@3", "put k3@4", "put k4@5"]);
  });

  it("the history is also bounded by bytes", () => {
    // Each event costs 64 bytes of overhead plus 102 of key and value: two fit.
    const replica = new Replica({ eventHistoryBytesMax: 400 });
    for (let i = 0; i < 4; i++) replica.put(`k${i}`, "x".repeat(100));
    expect(replica.machine.eventsSince(2)).toMatchObject({ ok: false, error: "compacted", compactRevision: 3 });
  });

  it("a revision partly trimmed counts as compacted", () => {
    const replica = new Replica({ eventHistoryMax: 2 });
    replica.put("a", "v", { ttlMs: 10 });
    replica.put("b", "v", { ttlMs: 10 });
    replica.put("c", "v", { ttlMs: 10 });
    replica.apply({ type: "tick" }, replica.stampMs + 10); // three expired deletes at revision 4
    expect(replica.machine.eventsSince(4)).toMatchObject({ ok: false, compactRevision: 5 });
  });

  it("a page stops at limit events but never in the middle of a revision", () => {
    const replica = new Replica();
    for (const key of ["a", "b", "c"]) replica.put(key, "v", { ttlMs: 10 });
    replica.put("d", "v");
    replica.apply({ type: "tick" }, replica.stampMs + 10); // deletes a, b, c at revision 5
    replica.put("e", "v");
    const first = replica.machine.eventsSince(4, new Uint8Array(0), 2);
    expect(first.ok && describeEvents(first.events)).toStrictEqual(["put d@4", "delete a@5", "delete b@5", "delete c@5"]);
    expect(first.ok && first.nextRevision).toBe(6);
    const second = replica.machine.eventsSince(6, new Uint8Array(0), 2);
    expect(second.ok && describeEvents(second.events)).toStrictEqual(["put e@6"]);
  });

  it("after a restore the history starts after the snapshot's index", () => {
    const replica = new Replica();
    replica.put("a", "v");
    replica.put("b", "v");
    const restored = KvStateMachine.restore(replica.machine.snapshot());
    expect(restored.eventsSince(2)).toMatchObject({ ok: false, error: "compacted", compactRevision: 3 });
    expect(restored.eventsSince(3)).toStrictEqual({ ok: true, revision: 2, events: [], nextRevision: 3 });
    const next = new Replica({}, restored);
    next.put("c", "v");
    const result = restored.eventsSince(3);
    expect(result.ok && describeEvents(result.events)).toStrictEqual(["put c@3"]);
  });

  it("revision 0 on a fresh state means from the beginning, not compacted", () => {
    const replica = new Replica();
    replica.put("k", "v");
    expect(replica.machine.eventsSince(0)).toMatchObject({ ok: true, events: [{ type: "put", revision: 1 }] });
  });

  it.each([
    { name: "a limit of 0", call: (machine: KvStateMachine) => machine.eventsSince(1, new Uint8Array(0), 0) },
    { name: "a limit above listLimitMax", call: (machine: KvStateMachine) => machine.eventsSince(1, new Uint8Array(0), 10_001) },
    { name: "a fractional revision", call: (machine: KvStateMachine) => machine.eventsSince(1.5) },
  ])("refuses $name with KvArgumentError", ({ call }) => {
    expect(() => call(new KvStateMachine())).toThrow(KvArgumentError);
  });

  it("returns copies of keys and values", () => {
    const replica = new Replica();
    replica.put("k", "v");
    const result = replica.machine.eventsSince(1);
    const event = result.ok ? result.events[0] : undefined;
    if (event?.type === "put") event.value.fill(0);
    expect(replica.value("k")).toBe("v");
  });
});
