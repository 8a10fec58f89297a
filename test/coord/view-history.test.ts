import { describe, expect, it } from "vitest";
import { ViewHistory } from "../../src/coord/view-history.js";
import { CLUSTER } from "./fixtures.js";

describe("ViewHistory: the status page's bounded list of view changes", () => {
  it("keeps the last entriesMax changes, oldest first, with the line a person reads", () => {
    const history = new ViewHistory(2);
    history.record([{ type: "member-joined", clusterId: CLUSTER, id: 1, membership: "voter" }], 10);
    history.record([{ type: "leader-changed", clusterId: CLUSTER, leaderId: 1, term: 2 }], 20);
    const added = history.record([{ type: "member-unreachable", clusterId: CLUSTER, id: 2, lastHeartbeatMsAgo: 4000 }], 30);
    expect(added.map((e) => e.text)).toEqual(["m2 unreachable (no heartbeat for 4000 ms)"]);
    expect(history.list().map((e) => [e.atMs, e.text])).toEqual([[20, "leader m1 in term 2"], [30, "m2 unreachable (no heartbeat for 4000 ms)"]]);
  });

  it("does not keep refused or unauthenticated reports: they change nothing, and anyone can send them", () => {
    const history = new ViewHistory(10);
    history.record([
      { type: "refused", clusterId: CLUSTER, id: 9, reason: "full" },
      { type: "unauthenticated", clusterId: CLUSTER, id: 9, remoteAddress: "127.0.0.1", reason: "no token" },
    ], 1);
    expect(history.list()).toEqual([]);
  });

  it("refuses a limit below 1", () => {
    expect(() => new ViewHistory(0)).toThrow(/historyEntriesMax/);
  });
});
