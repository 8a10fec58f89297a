import { describe, expect, it } from "vitest";
import { QuorumWatch, quorumLossNotice } from "../../src/operator/controller/quorum-watch.js";
import { planNextStep } from "../../src/operator/planner/index.js";
import { RECOVER_ANNOTATION } from "../../src/operator/planner/quorum-loss.js";
import { computeStatus } from "../../src/operator/status.js";
import type { AdminApi, KubeObject, KVRaftCluster, MemberProgressView, MembershipView } from "../../src/operator/types.js";
import { makeCluster } from "./fixtures.js";
import { World } from "./world.js";

const GONE_AFTER_MS = 60_000;

/** The admin API of a cluster without a leader: it answers members and statuses, and must not be asked to change anything. */
function leaderlessAdmin(statuses: Map<number, MemberProgressView>): AdminApi & { changes: string[] } {
  const changes: string[] = [];
  const refuse = (what: string) => (): Promise<void> => {
    changes.push(what);
    return Promise.resolve();
  };
  return {
    changes,
    members: () => Promise.reject(new Error("no leader")),
    addLearner: refuse("addLearner"), promote: refuse("promote"), remove: refuse("remove"), transferLeadership: refuse("transferLeadership"),
    memberStatuses: () => Promise.resolve(statuses),
  };
}

const claim = (ordinal: number): KubeObject => ({ apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: `data-kv-${ordinal}`, namespace: "db" } });
const progress = (commitIndex: number, lastIndex = commitIndex): MemberProgressView => ({ commitIndex, lastIndex, term: 3, nonVoting: false });

function formedCluster(annotation?: string): KVRaftCluster {
  const cluster = makeCluster({}, {
    formed: true,
    members: [1, 2, 3].map((id) => ({ id, pod: `kv-${id - 1}`, role: "voter" as const, healthy: false })),
  });
  return annotation === undefined ? cluster : { ...cluster, metadata: { ...cluster.metadata, annotations: { [RECOVER_ANNOTATION]: annotation } } };
}

describe("QuorumWatch: the evidence for a quorum lost for good", () => {
  it("two claims deleted, member 3 answering: QuorumLost, and the admin API is asked for nothing but statuses", async () => {
    const admin = leaderlessAdmin(new Map([[3, progress(40, 42)]]));
    const watch = new QuorumWatch(GONE_AFTER_MS, () => 1_000);
    const decision = await watch.decide("db/kv", formedCluster(), undefined, admin, [claim(2)]);
    expect(decision).toMatchObject({ kind: "QuorumLost", gone: [1, 2], furthest: 3 });
    expect(quorumLossNotice(decision)).toMatchObject({ reason: "QuorumLost", message: expect.stringMatching(/recover-from-member=3/) });
    expect(admin.changes).toEqual([]);
  });

  it("claims kept, members silent: waits until they have been silent for the bound, counted from the first look", async () => {
    let nowMs = 0;
    const watch = new QuorumWatch(GONE_AFTER_MS, () => nowMs);
    const admin = leaderlessAdmin(new Map([[3, progress(40)]]));
    const claims = [claim(0), claim(1), claim(2)];
    expect(await watch.decide("db/kv", formedCluster(), undefined, admin, claims)).toMatchObject({ kind: "QuorumUnreachable" });
    nowMs = GONE_AFTER_MS - 1;
    expect(quorumLossNotice(await watch.decide("db/kv", formedCluster(), undefined, admin, claims))).toBeUndefined();
    nowMs = GONE_AFTER_MS;
    expect(await watch.decide("db/kv", formedCluster(), undefined, admin, claims)).toMatchObject({ kind: "QuorumLost", gone: [1, 2] });
    watch.forget("db/kv");
    expect(await watch.decide("db/kv", formedCluster(), undefined, admin, claims)).toMatchObject({ kind: "QuorumUnreachable" });
  });

  it("the annotation: a refusal names the survivor ahead; an accepted one is reported as Recovering", async () => {
    const watch = new QuorumWatch(GONE_AFTER_MS, () => 0);
    const fiveVoters: MembershipView = { leaderId: 0, term: 0, commitIndex: 0, members: [1, 2, 3, 4, 5].map((id) => ({ id, role: "voter" as const, healthy: false })) };
    const admin = leaderlessAdmin(new Map([[4, progress(50)], [5, progress(60)]]));
    const claims = [claim(3), claim(4)];
    const refused = quorumLossNotice(await watch.decide("db/kv", formedCluster("4"), fiveVoters, admin, claims));
    expect(refused).toMatchObject({ reason: "RecoveryRefused", message: expect.stringMatching(/member 5 is further ahead/) });
    const accepted = quorumLossNotice(await watch.decide("db/kv", formedCluster("5"), fiveVoters, admin, claims));
    expect(accepted).toMatchObject({ reason: "Recovering", message: expect.stringMatching(/^recovering from member 5 \(commit 60, last index 60\) under a new cluster id/) });
    expect(admin.changes).toEqual([]);
  });
});

describe("status: the QuorumLost condition", () => {
  it("appears with a loss for good, and stays as False once the quorum is back", () => {
    const world = new World(3);
    world.crash(1);
    world.crash(2);
    const input = world.input();
    const lost = computeStatus({ ...input, step: planNextStep(input), now: "2026-01-01T00:00:00Z", quorumLoss: { reason: "QuorumLost", message: "gone" } }, undefined);
    expect(lost.conditions?.find((c) => c.type === "QuorumLost")).toMatchObject({ status: "True", reason: "QuorumLost", message: "gone" });
    const healthy = new World(3).input();
    const back = computeStatus({ ...healthy, step: planNextStep(healthy), now: "2026-01-01T00:05:00Z" }, lost);
    expect(back.conditions?.find((c) => c.type === "QuorumLost")).toMatchObject({ status: "False", lastTransitionTime: "2026-01-01T00:05:00Z" });
    const never = computeStatus({ ...healthy, step: planNextStep(healthy), now: "2026-01-01T00:05:00Z" }, undefined);
    expect(never.conditions?.map((c) => c.type)).toEqual(["Available", "Progressing", "Degraded"]);
  });
});
