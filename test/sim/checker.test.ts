import { describe, expect, it } from "vitest";
import { SafetyChecker, ViolationError } from "../../src/sim/core/checker.js";
import type { Entry } from "../../src/raft/types.js";
import { EntryType } from "../../src/raft/types.js";

const entry = (index: number, term: number, byte = 0): Entry => ({ index, term, type: EntryType.Normal, data: new Uint8Array([byte]) });
const fresh = (): SafetyChecker => new SafetyChecker({ voters: [1, 2, 3], learners: [] });

/** Each check is shown to fail on the state it exists to catch. */
describe("the simulator's safety checks fail when they should", () => {
  it("election safety: two leaders in one term", () => {
    const checker = fresh();
    checker.leaderElected(3, 1);
    checker.leaderElected(3, 1);
    expect(() => checker.leaderElected(3, 2)).toThrow(/two leaders in term 3/);
  });

  it("log matching: two entries with one index and term", () => {
    const checker = fresh();
    checker.entryPersisted(1, entry(5, 2, 1), 2);
    expect(() => checker.entryPersisted(2, entry(5, 2, 9), 2)).toThrow(ViolationError);
  });

  it("log matching: the same entry after different histories", () => {
    const checker = fresh();
    checker.entryPersisted(1, entry(5, 2), 2);
    expect(() => checker.entryPersisted(2, entry(5, 2), 1)).toThrow(/follows an entry of term 1/);
  });

  it("state-machine safety: different entries applied at one index", () => {
    const checker = fresh();
    checker.entryApplied(1, entry(4, 2), "r");
    expect(() => checker.entryApplied(2, entry(4, 3), "r")).toThrow(/different entry at index 4/);
  });

  it("state-machine determinism: one entry, two results", () => {
    const checker = fresh();
    checker.entryApplied(1, entry(4, 2), "ok:stored:4");
    expect(() => checker.entryApplied(2, entry(4, 2), "ok:stored:5")).toThrow(/determinism|result/);
  });

  it("leader completeness: a leader without a committed entry", () => {
    const checker = fresh();
    checker.entryApplied(1, entry(2, 1), "r");
    expect(() => checker.checkLeaderCompleteness(3, 2, 2, () => 0)).toThrow(/committed index 2/);
  });

  it("leader completeness holds a leader only to entries committed before its term, also when no leader was seen committing them", () => {
    const checker = fresh();
    // Applied, but no leader's commit was recorded (its leader crashed before any check ran).
    checker.entryApplied(1, entry(2, 6), "r");
    // A stale leader of term 4 (elected late by delayed votes) need not hold an entry of term 6: it was committed in term 6 or later.
    checker.checkLeaderCompleteness(3, 4, 2, () => undefined);
    // It must hold one of term 3: committed in term 3 or later, perhaps before its own.
    checker.entryApplied(1, entry(3, 3), "r");
    expect(() => checker.checkLeaderCompleteness(3, 4, 2, () => undefined)).toThrow(/committed index 3/);
  });

  it("durability: a vote granted before it is durable", () => {
    const checker = fresh();
    const vote = { type: "VoteResp", from: 2, to: 1, term: 4, reject: false, commitIndex: 0, commitTerm: 0 } as const;
    expect(() => checker.checkDurableBeforeSend(vote, { term: 4, vote: 0, hasEntry: () => true })).toThrow(/before the vote was durable/);
    expect(() => checker.checkDurableBeforeSend(vote, { term: 3, vote: 1, hasEntry: () => true })).toThrow(/durable term is 3/);
    checker.checkDurableBeforeSend(vote, { term: 4, vote: 1, hasEntry: () => true });
  });

  it("durability: entries acknowledged before they are durable", () => {
    const checker = fresh();
    const ack = { type: "AppResp", from: 2, to: 1, term: 4, session: 7, reject: false, index: 9, hintIndex: 0, hintTerm: 0, nonVoting: false } as const;
    expect(() => checker.checkDurableBeforeSend(ack, { term: 4, vote: 1, hasEntry: (i) => i <= 8 })).toThrow(/acknowledged entries up to 9/);
  });

  it("commitment (§5.4.2): a leader's commit on an entry of an older term", () => {
    expect(() => fresh().checkLeaderCommit(1, 5, 10, 4)).toThrow(/entry of term 4/);
  });

  it("reads (§8): confirmed before the leader's first entry of its term commits", () => {
    expect(() => fresh().checkReadIndex(1, 5, 9, 10)).toThrow(/before its first entry/);
  });

  it("exactly-once: a write executed twice, or acknowledged and never executed", () => {
    const checker = fresh();
    checker.writeApplied("7:1", 10, true);
    checker.writeApplied("7:1", 12, false);
    expect(() => checker.writeApplied("7:1", 14, true)).toThrow(/executed twice/);
    checker.writeAcknowledged("7:2", 20);
    expect(() => checker.checkAcknowledgedWrites()).toThrow(/never executed/);
  });

  it("restarts: a durable term going backwards", () => {
    expect(() => fresh().checkRestart(1, { term: 5, commit: 3 }, { term: 4, commit: 3 })).toThrow(/term 4 below/);
  });
});
