import { describe, expect, it } from "vitest";
import type { HeartbeatKind, Liveness, RegistryLimits } from "../../src/coord/index.js";
import type { MemberStatus, ServerStatus } from "../../src/protocol/status.js";
import { Registry } from "../../src/coord/index.js";
import { CLUSTER, configuration, heartbeatOf } from "./fixtures.js";

/**
 * The registry as data: each scenario is a script of reports and expectations, with
 * time given explicitly (the registry reads no clock).
 */
type Step =
  | { readonly at: number; readonly report: number; readonly kind?: HeartbeatKind; readonly role?: ServerStatus["role"]; readonly term?: number;
      readonly commit?: number; readonly membership?: ServerStatus["membership"]; readonly members?: MemberStatus[]; readonly outcome?: "accepted" | "stale" }
  | { readonly at: number; readonly leader: readonly [id: number, term: number] | null; readonly liveness?: Readonly<Record<number, Liveness>> }
  | { readonly at: number; readonly member: number; readonly shows: Record<string, unknown> };

const LIMITS: RegistryLimits = { unreachableAfterMs: 1000, forgetAfterMs: 60_000, membersPerClusterMax: 64, clustersMax: 16 };

const scenarios: { name: string; steps: Step[] }[] = [
  {
    name: "liveness: silent longer than unreachableAfterMs is unreachable; heard again, alive",
    steps: [
      { at: 0, report: 1 },
      { at: 1000, leader: null, liveness: { 1: "alive" } },
      { at: 1001, leader: null, liveness: { 1: "unreachable" } },
      { at: 5000, report: 1 },
      { at: 5000, leader: null, liveness: { 1: "alive" } },
    ],
  },
  {
    name: "leader: of the members reporting leader, the highest term wins",
    steps: [
      { at: 0, report: 1, role: "leader", term: 2 },
      { at: 0, report: 2, role: "leader", term: 3 },
      { at: 0, report: 3, role: "follower", term: 3 },
      { at: 10, leader: [2, 3] },
    ],
  },
  {
    name: "leader: an old leader cut off and still reporting its old term does not override the new one",
    steps: [
      { at: 0, report: 1, role: "leader", term: 2 },
      { at: 100, report: 2, role: "leader", term: 3 },
      { at: 200, report: 1, role: "leader", term: 2 },
      { at: 200, leader: [2, 3], liveness: { 1: "alive", 2: "alive" } },
    ],
  },
  {
    name: "stale: a delayed heartbeat of a member (lower term) is ignored and cannot bring its old leadership back",
    steps: [
      { at: 0, report: 1, role: "leader", term: 3, commit: 10 },
      { at: 100, report: 1, role: "follower", term: 4, commit: 12 },
      { at: 200, report: 1, role: "leader", term: 3, commit: 10, outcome: "stale" },
      { at: 200, leader: null },
      { at: 200, member: 1, shows: { role: "follower", term: 4, commitIndex: 12 } },
    ],
  },
  {
    name: "stale: same term, lower commit index is a delayed heartbeat",
    steps: [
      { at: 0, report: 1, term: 4, commit: 12 },
      { at: 100, report: 1, term: 4, commit: 11, outcome: "stale" },
      { at: 100, member: 1, shows: { commitIndex: 12 } },
    ],
  },
  {
    name: "register starts a new incarnation: a restarted member's lower term is accepted",
    steps: [
      { at: 0, report: 1, term: 5, commit: 20 },
      { at: 100, report: 1, kind: "register", term: 0, commit: 0, outcome: "accepted" },
      { at: 100, member: 1, shows: { term: 0, commitIndex: 0, liveness: "alive" } },
    ],
  },
  {
    name: "an unreachable leader is not believed",
    steps: [
      { at: 0, report: 1, role: "leader", term: 2 },
      { at: 1500, report: 2, role: "follower", term: 2 },
      { at: 1500, leader: null, liveness: { 1: "unreachable", 2: "alive" } },
    ],
  },
  {
    name: "a joining member is shown through add, catch-up and promotion (the leader's configuration decides)",
    steps: [
      { at: 0, report: 1, role: "leader", term: 2, members: configuration([[1, "voter", 0], [2, "voter", 0], [3, "voter", 0]]) },
      { at: 0, report: 4, membership: "none", term: 0, commit: 0 },
      { at: 0, member: 4, shows: { membership: "none", lag: null, liveness: "alive" } },
      { at: 100, report: 1, role: "leader", term: 2, members: configuration([[1, "voter", 0], [2, "voter", 0], [3, "voter", 0], [4, "learner", 50]]) },
      { at: 100, member: 4, shows: { membership: "learner", lag: 50 } },
      { at: 200, report: 1, role: "leader", term: 2, members: configuration([[1, "voter", 0], [2, "voter", 0], [3, "voter", 0], [4, "learner", 0]]) },
      { at: 200, member: 4, shows: { membership: "learner", lag: 0 } },
      { at: 300, report: 1, role: "leader", term: 2, members: configuration([[1, "voter", 0], [2, "voter", 0], [3, "voter", 0], [4, "voter", 0]]) },
      { at: 300, member: 4, shows: { membership: "voter", lag: 0 } },
    ],
  },
  {
    name: "a voter in the leader's configuration that never reported is shown unreachable, without Raft fields",
    steps: [
      { at: 0, report: 1, role: "leader", term: 2, members: configuration([[1, "voter", 0], [2, "voter", 3]]) },
      { at: 0, member: 2, shows: { membership: "voter", role: null, term: null, liveness: "unreachable", lastHeartbeatMsAgo: null, lag: 3 } },
      { at: 0, member: 1, shows: { lag: 0, lastHeartbeatMsAgo: 0 } },
    ],
  },
];

function run(steps: readonly Step[], limits: RegistryLimits = LIMITS): void {
  const registry = new Registry(limits);
  steps.forEach((step, i) => {
    const where = `step ${i} at ${step.at} ms`;
    if ("report" in step) {
      const fields = {
        ...(step.role === undefined ? {} : { role: step.role }), ...(step.term === undefined ? {} : { term: step.term }),
        ...(step.commit === undefined ? {} : { commitIndex: step.commit }), ...(step.membership === undefined ? {} : { membership: step.membership }),
        ...(step.members === undefined ? {} : { members: step.members }),
      };
      const outcome = registry.observe(heartbeatOf(step.report, fields), step.at, step.kind ?? "heartbeat");
      expect(outcome.result, where).toBe(step.outcome ?? "accepted");
      return;
    }
    const view = registry.clusterView(CLUSTER, step.at);
    expect(view, where).toBeDefined();
    if ("leader" in step) {
      expect(view?.leader === null ? null : [view?.leader.id, view?.leader.term], where).toEqual(step.leader);
      for (const [id, liveness] of Object.entries(step.liveness ?? {})) {
        expect(view?.members.find((m) => m.id === Number(id))?.liveness, `${where}: member ${id}`).toBe(liveness);
      }
      return;
    }
    expect(view?.members.find((m) => m.id === step.member), `${where}: member ${step.member}`).toMatchObject(step.shows);
  });
}

describe("coordinator registry (time is an input)", () => {
  for (const scenario of scenarios) it(scenario.name, () => run(scenario.steps));

  it("keys clusters by id: a member of another cluster joins its own cluster's view", () => {
    const registry = new Registry(LIMITS);
    registry.observe(heartbeatOf(1, { role: "leader", term: 2 }), 0);
    const other = heartbeatOf(1, { clusterId: "other", role: "leader", term: 7 });
    expect(registry.observe({ clusterId: "other", status: other.status }, 0).result).toBe("accepted");
    expect(registry.clusterIds()).toEqual([CLUSTER, "other"].sort());
    expect(registry.clusterView(CLUSTER, 0)?.leader).toMatchObject({ id: 1, term: 2 });
    expect(registry.clusterView("other", 0)?.leader).toMatchObject({ id: 1, term: 7 });
  });

  it("limits: membersPerClusterMax and clustersMax refuse newcomers, not known members", () => {
    const registry = new Registry({ ...LIMITS, membersPerClusterMax: 2, clustersMax: 1 });
    expect(registry.observe(heartbeatOf(1), 0).result).toBe("accepted");
    expect(registry.observe(heartbeatOf(2), 0).result).toBe("accepted");
    expect(registry.observe(heartbeatOf(3), 0)).toMatchObject({ result: "refused", limit: "membersPerClusterMax" });
    expect(registry.observe(heartbeatOf(2, { commitIndex: 5 }), 10).result).toBe("accepted");
    const foreign = heartbeatOf(1, { clusterId: "other" });
    expect(registry.observe({ clusterId: "other", status: foreign.status }, 0)).toMatchObject({ result: "refused", limit: "clustersMax" });
  });

  it("forgets a member silent for longer than forgetAfterMs, and a cluster left empty, freeing the slots", () => {
    const registry = new Registry({ ...LIMITS, forgetAfterMs: 5000, membersPerClusterMax: 1 });
    registry.observe(heartbeatOf(1), 0);
    expect(registry.observe(heartbeatOf(2), 4000).result).toBe("refused");
    registry.forget(5001);
    expect(registry.view(5001)).toEqual([]);
    expect(registry.observe(heartbeatOf(2), 5001).result).toBe("accepted");
  });

  it("a coordinator restarted empty shows the same view after one round of heartbeats", () => {
    const reports = [heartbeatOf(1, { role: "leader", term: 4, members: configuration([[1, "voter", 0], [2, "voter", 1]]) }), heartbeatOf(2, { term: 4, leaderId: 1 })];
    const before = new Registry(LIMITS);
    for (const report of reports) before.observe(report, 0);
    const after = new Registry(LIMITS);
    for (const report of reports) after.observe(report, 900);
    expect(after.view(900)).toEqual(before.view(0));
  });
});
