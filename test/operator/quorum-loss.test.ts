import { describe, expect, it } from "vitest";
import { decideQuorumLoss, GONE_AFTER_MS_DEFAULT, goneReason, type QuorumLossInput, type VoterEvidence } from "../../src/operator/planner/quorum-loss.js";

const goneAfterMs = GONE_AFTER_MS_DEFAULT;
const answering = (id: number, commitIndex: number, lastIndex = commitIndex, nonVoting = false): VoterEvidence =>
  ({ id, claimPresent: true, status: { commitIndex, lastIndex, term: 4, nonVoting }, silentForMs: 0 });
const claimDeleted = (id: number): VoterEvidence => ({ id, claimPresent: false, silentForMs: 5_000 });
const silent = (id: number, silentForMs: number): VoterEvidence => ({ id, claimPresent: true, silentForMs });

const decide = (voters: VoterEvidence[], annotation?: string): ReturnType<typeof decideQuorumLoss> =>
  decideQuorumLoss({ voters, goneAfterMs, annotation } satisfies QuorumLossInput);

describe("quorum loss: the operator never recovers on its own", () => {
  it("a healthy quorum is left alone; the annotation on a healthy cluster is refused", () => {
    expect(decide([answering(1, 10), answering(2, 10), claimDeleted(3)])).toEqual({ kind: "QuorumHealthy" });
    expect(decide([answering(1, 10), answering(2, 10), claimDeleted(3)], "1")).toMatchObject({ kind: "RecoveryRefused", reason: "QuorumNotLost" });
  });

  it("two of three claims deleted: QuorumLost, naming the gone members and the survivor furthest ahead, and explaining both ways out", () => {
    const decision = decide([claimDeleted(1), claimDeleted(2), answering(3, 120, 122)]);
    expect(decision).toMatchObject({ kind: "QuorumLost", gone: [1, 2], furthest: 3 });
    const message = decision.kind === "QuorumLost" ? decision.message : "";
    expect(message).toMatch(/2 of 3 voters are gone \(member 1: its claim is deleted; member 2: its claim is deleted\)/);
    expect(message).toMatch(/changes nothing on its own/);
    expect(message).toMatch(/spec\.bootstrap\.fromBackup\), losing every write after the backup/);
    expect(message).toMatch(/kvraft\.io\/recover-from-member=3 .*commit 120, last index 122.*losing the writes acknowledged by the gone members/);
  });

  it("a majority silent for less than the bound may come back: no QuorumLost, and the annotation is refused (the old cluster could serve beside the new one)", () => {
    const voters = [silent(1, 30_000), silent(2, 30_000), answering(3, 50)];
    expect(decide(voters)).toMatchObject({ kind: "QuorumUnreachable" });
    expect(decide(voters, "3")).toMatchObject({ kind: "RecoveryRefused", reason: "QuorumNotLost" });
    expect(decide([silent(1, goneAfterMs), silent(2, goneAfterMs + 1), answering(3, 50)])).toMatchObject({ kind: "QuorumLost", gone: [1, 2] });
  });

  it("a member that answers without its data (non-voting) is gone, and cannot be recovered from", () => {
    expect(goneReason(answering(2, 0, 0, true), goneAfterMs)).toMatch(/lost its data/);
    const voters = [claimDeleted(1), answering(2, 0, 0, true), answering(3, 40)];
    expect(decide(voters)).toMatchObject({ kind: "QuorumLost", gone: [1, 2], furthest: 3 });
    expect(decide(voters, "2")).toMatchObject({ kind: "RecoveryRefused", reason: "NotASurvivor", message: expect.stringMatching(/member 2 lost its data/) });
  });

  it("with the annotation, recovery is chosen from the named survivor when it is furthest ahead", () => {
    const decision = decide([claimDeleted(1), claimDeleted(2), claimDeleted(3), answering(4, 90, 91), answering(5, 90, 90)], "4");
    expect(decision).toMatchObject({ kind: "Recover", fromMember: 4, gone: [1, 2, 3], commitIndex: 90, lastIndex: 91 });
  });

  it("refuses a survivor that another survivor is ahead of, by commit index first, then by log length, and names the one to use", () => {
    const voters = [claimDeleted(1), claimDeleted(2), claimDeleted(3), answering(4, 80, 95), answering(5, 90, 90)];
    expect(decide(voters, "4")).toMatchObject({ kind: "RecoveryRefused", reason: "SurvivorAhead", message: expect.stringMatching(/member 5 is further ahead .*annotate kvraft\.io\/recover-from-member=5/) });
    expect(decide(voters, "5")).toMatchObject({ kind: "Recover", fromMember: 5 });
    const tie = [claimDeleted(1), claimDeleted(2), claimDeleted(3), answering(4, 90, 92), answering(5, 90, 91)];
    expect(decide(tie, "5")).toMatchObject({ kind: "RecoveryRefused", reason: "SurvivorAhead" });
  });

  it("refuses while a survivor has not been read: it might be further ahead", () => {
    const voters = [claimDeleted(1), claimDeleted(2), claimDeleted(3), answering(4, 90), silent(5, 1_000)];
    expect(decide(voters)).toMatchObject({ kind: "QuorumLost", gone: [1, 2, 3] });
    expect(decide(voters, "4")).toMatchObject({ kind: "RecoveryRefused", reason: "SurvivorUnread", message: expect.stringMatching(/member 5 has not answered/) });
  });

  it("refuses an annotation that names no survivor, or no member at all", () => {
    const voters = [claimDeleted(1), claimDeleted(2), answering(3, 10)];
    expect(decide(voters, "three")).toMatchObject({ kind: "RecoveryRefused", reason: "InvalidAnnotation" });
    expect(decide(voters, "0")).toMatchObject({ kind: "RecoveryRefused", reason: "InvalidAnnotation" });
    expect(decide(voters, "1")).toMatchObject({ kind: "RecoveryRefused", reason: "NotASurvivor", message: expect.stringMatching(/member 1 does not answer.*survivors: 3/) });
    expect(decide(voters, "7")).toMatchObject({ kind: "RecoveryRefused", reason: "NotASurvivor", message: expect.stringMatching(/member 7 is not a voter/) });
  });

  it("no survivor at all: QuorumLost points at a backup only", () => {
    const decision = decide([claimDeleted(1), claimDeleted(2), claimDeleted(3)]);
    expect(decision).toMatchObject({ kind: "QuorumLost", furthest: undefined, message: expect.stringMatching(/the only way out is a backup/) });
  });
});
