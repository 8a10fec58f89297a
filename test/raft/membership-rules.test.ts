import { describe, expect, it } from "vitest";
import type { FollowerView } from "../../src/raft/membership-rules.js";
import { bestSuccessor, heardWithinElectionTimeout, PROMOTION_COMMIT_LAG_ENTRIES_MAX, promotionVerdict, quorumAfterRemovalProblem } from "../../src/raft/membership-rules.js";

const learner = (fields: Partial<FollowerView> = {}): FollowerView => ({ id: 9, match: 50, acknowledged: true, heardRecently: true, nonVoting: false, ...fields });

describe("membership rules (one module for the core, the admin API and the operator)", () => {
  it("a learner that never acknowledged the leader is not ready to promote, whatever its match says", () => {
    const verdict = promotionVerdict(learner({ acknowledged: false, match: 0 }), 0);
    expect(verdict).toMatchObject({ ready: false, reason: "never-acknowledged" });
    expect(verdict.ready ? "" : verdict.message).toBe("learner 9 has never acknowledged the leader: it is not running or cannot be reached; start it, then promote");
  });

  it("a learner not heard within the last election timeout is not ready to promote", () => {
    expect(promotionVerdict(learner({ heardRecently: false }), 50)).toMatchObject({ ready: false, reason: "not-heard-recently" });
  });

  it("a learner that may have lost acknowledged entries (non-voting) is not ready to promote", () => {
    expect(promotionVerdict(learner({ nonVoting: true }), 50)).toMatchObject({ ready: false, reason: "non-voting" });
  });

  it("a learner whose match is below the leader's commit index is not ready; one at or past it is", () => {
    expect(PROMOTION_COMMIT_LAG_ENTRIES_MAX).toBe(0);
    expect(promotionVerdict(learner({ match: 49 }), 50)).toMatchObject({ ready: false, reason: "behind" });
    expect(promotionVerdict(learner({ match: 50 }), 50)).toEqual({ ready: true });
    expect(promotionVerdict(learner({ match: 52 }), 50)).toEqual({ ready: true });
  });

  it("heard recently means fewer ticks than one election timeout", () => {
    expect(heardWithinElectionTimeout(9, 10)).toBe(true);
    expect(heardWithinElectionTimeout(10, 10)).toBe(false);
  });

  it("quorum after a removal: the remaining voters that count must be a majority of the smaller configuration", () => {
    const all = (): boolean => true;
    expect(quorumAfterRemovalProblem([1, 2, 3], 3, all)).toBeUndefined();
    expect(quorumAfterRemovalProblem([1, 2, 3], 3, (id) => id === 1)).toMatch(/removing member 3 would leave 1 healthy voters of 2, fewer than a majority \(2\)/);
    expect(quorumAfterRemovalProblem([1, 2, 3, 4, 5], 5, (id) => id !== 4)).toBeUndefined();
    expect(quorumAfterRemovalProblem([1, 2, 3], 7, () => false)).toBeUndefined(); // a learner has no vote
  });

  it("the best successor is the candidate with the highest match, the lowest id on a tie", () => {
    expect(bestSuccessor([{ id: 3, match: 10 }, { id: 2, match: 12 }, { id: 4, match: 12 }])?.id).toBe(2);
    expect(bestSuccessor([])).toBeUndefined();
  });
});
