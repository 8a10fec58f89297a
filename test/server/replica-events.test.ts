import { describe, expect, it } from "vitest";
import { ReplicaEvents } from "../../src/server/replica-events.js";

const roleChanged = (role: string): { type: "role-changed"; role: string; term: number; leader: number } => ({ type: "role-changed", role, term: 2, leader: 2 });

describe("the replica's events, fanned out (issue 17)", () => {
  it("next() resolves with the first matching event and leaves no listener behind", async () => {
    const events = new ReplicaEvents();
    const deposed = events.next("role-changed", (event) => event.role !== "leader", new AbortController().signal);
    events.emit(roleChanged("leader"));
    events.emit({ type: "fatal", error: new Error("disk") });
    events.emit(roleChanged("follower"));
    expect((await deposed)?.role).toBe("follower");
    expect(events.listenerCount("role-changed")).toBe(0);
  });

  it("next() resolves undefined when its signal aborts, and removes its listeners", async () => {
    const events = new ReplicaEvents();
    const giveUp = new AbortController();
    const waits = Array.from({ length: 10 }, () => events.next("role-changed", () => true, giveUp.signal));
    expect(events.listenerCount("role-changed")).toBe(10);
    giveUp.abort();
    expect(await Promise.all(waits)).toEqual(Array.from({ length: 10 }, () => undefined));
    expect(events.listenerCount("role-changed")).toBe(0);
  });

  it("refuses a listener past its limit, naming it", () => {
    const events = new ReplicaEvents(2);
    events.on("fatal", () => undefined);
    const off = events.on("fatal", () => undefined);
    expect(() => events.on("fatal", () => undefined)).toThrow(/2 listeners on the replica's "fatal" events \(REPLICA_EVENT_LISTENERS_MAX\)/);
    off();
    expect(() => events.on("fatal", () => undefined)).not.toThrow();
  });
});
