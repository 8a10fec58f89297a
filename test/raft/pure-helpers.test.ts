import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { applyConfChange, confChangeProblem, decodeConfChange, encodeConfChange } from "../../src/raft/conf-change.js";
import { Progress } from "../../src/raft/progress.js";
import { majority, quorumMatchIndex, voteOutcome } from "../../src/raft/quorum.js";
import type { ConfChange, ConfChangeType } from "../../src/raft/types.js";

describe("quorum arithmetic", () => {
  it.each([[1, 1], [2, 2], [3, 2], [4, 3], [5, 3], [6, 4], [7, 4]])("a majority of %i voters is %i", (voters, needed) => {
    expect(majority(voters)).toBe(needed);
  });

  it.each([
    { matches: [5], committed: 5 },
    { matches: [5, 3, 1], committed: 3 },
    { matches: [5, 5, 1], committed: 5 },
    { matches: [9, 2, 7, 4], committed: 4 },
    { matches: [9, 2, 7, 4, 8], committed: 7 },
    { matches: [0, 0, 3], committed: 0 },
  ])("the index a majority has matched, of $matches, is $committed", ({ matches, committed }) => {
    const voters = matches.map((_, i) => i + 1);
    expect(quorumMatchIndex(voters, (id) => matches[id - 1] as number)).toBe(committed);
  });

  it.each([
    { votes: [[1, true], [2, true]], outcome: "won" },
    { votes: [[1, true], [2, false], [3, false]], outcome: "lost" },
    { votes: [[1, true], [2, false]], outcome: "pending" },
    { votes: [[1, true], [4, true], [5, true]], outcome: "pending", why: "votes of non-voters are ignored" },
  ] as { votes: [number, boolean][]; outcome: string }[])("votes $votes among voters 1, 2, 3: $outcome", ({ votes, outcome }) => {
    expect(voteOutcome([1, 2, 3], new Map(votes))).toBe(outcome);
  });
});

describe("configuration-change entries", () => {
  it("encode and decode are inverse", () => {
    const change = fc.record({
      type: fc.constantFrom<ConfChangeType>("add-learner", "promote", "remove"),
      nodeId: fc.integer({ min: 1, max: 0xffff_ffff }),
    });
    fc.assert(fc.property(change, (c: ConfChange) => {
      expect(decodeConfChange(encodeConfChange(c))).toEqual(c);
    }));
  });

  it.each([
    { name: "too short", bytes: [1, 0, 0, 0] },
    { name: "unknown type", bytes: [9, 0, 0, 0, 1] },
  ])("a malformed entry ($name) is an invariant violation", ({ bytes }) => {
    expect(() => decodeConfChange(Uint8Array.from(bytes))).toThrow(/invariant: a configuration-change entry has 5 bytes and a known type/);
  });

  it("a change applies to a copy, keeping ids sorted", () => {
    const config = { voters: [1, 3], learners: [5] };
    expect(applyConfChange(config, { type: "add-learner", nodeId: 2 })).toEqual({ voters: [1, 3], learners: [2, 5] });
    expect(applyConfChange(config, { type: "promote", nodeId: 5 })).toEqual({ voters: [1, 3, 5], learners: [] });
    expect(applyConfChange(config, { type: "remove", nodeId: 3 })).toEqual({ voters: [1], learners: [5] });
    expect(config).toEqual({ voters: [1, 3], learners: [5] });
  });

  it("an invalid committed change is an invariant violation, not a silent no-op", () => {
    expect(confChangeProblem({ voters: [1], learners: [] }, { type: "promote", nodeId: 1 })).toMatch(/already a voter/);
    expect(() => applyConfChange({ voters: [1], learners: [] }, { type: "remove", nodeId: 1 })).toThrow(/must apply cleanly: member 1 is the last voter/);
  });
});

describe("progress (etcd's states)", () => {
  it("probe: one append at a time; only a rejection of the index just probed moves next, never below match + 1", () => {
    const pr = new Progress(2, 11, 1);
    pr.match = 4;
    expect(pr.isPaused(10, 1000)).toBe(false);
    pr.sentEntries(10, 0, 0);
    expect(pr.isPaused(10, 1000)).toBe(true);
    expect(pr.maybeDecrTo(7, 3)).toBe(false); // Not the probe in flight: stale.
    expect(pr.maybeDecrTo(10, 3)).toBe(true);
    expect(pr).toMatchObject({ next: 5, probeSent: false });
  });

  it("replicate: appends in flight up to the message and byte limits; an answer frees those it covers", () => {
    const pr = new Progress(2, 1, 1);
    pr.becomeReplicate(1);
    pr.sentEntries(3, 100, 3);
    pr.sentEntries(6, 100, 3);
    expect(pr.isPaused(2, 1000)).toBe(true);
    expect(pr.isPaused(3, 200)).toBe(true);
    expect(pr.isPaused(3, 201)).toBe(false);
    expect(pr.maybeUpdate(4)).toBe(true);
    expect(pr.inflightCount()).toBe(1);
    expect(pr).toMatchObject({ match: 4, next: 7 });
  });
});
