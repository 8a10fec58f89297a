import { describe, expect, it } from "vitest";
import type { ClusterView, MemberView } from "../../src/coord/index.js";
import { describeCoordEvent, viewChanges } from "../../src/coord/index.js";

const member = (id: number, fields: Partial<MemberView> = {}): MemberView => ({
  id, membership: "voter", role: "follower", term: 2, commitIndex: 5, appliedIndex: 5, lag: 0,
  liveness: "alive", lastHeartbeatMsAgo: 10, addresses: {}, ...fields,
});
const cluster = (leader: [number, number] | null, members: MemberView[]): ClusterView => ({
  clusterId: "c", leader: leader === null ? null : { id: leader[0], term: leader[1], addresses: {} }, members,
});

/** Each row: the view before, the view after, and the lines a person would read. */
const rows: { name: string; before: ClusterView[]; after: ClusterView[]; lines: string[] }[] = [
  { name: "a first report", before: [], after: [cluster([1, 2], [member(1, { role: "leader" })])], lines: ["m1 joined as voter", "leader m1 in term 2"] },
  { name: "a new leader in a higher term", before: [cluster([1, 2], [member(1), member(2)])], after: [cluster([2, 3], [member(1), member(2)])], lines: ["leader m2 in term 3"] },
  { name: "silence, then a heartbeat again", before: [cluster(null, [member(1)])], after: [cluster(null, [member(1, { liveness: "unreachable", lastHeartbeatMsAgo: 3100 })])], lines: ["m1 unreachable (no heartbeat for 3100 ms)"] },
  { name: "heard again", before: [cluster(null, [member(1, { liveness: "unreachable" })])], after: [cluster(null, [member(1)])], lines: ["m1 alive again"] },
  {
    name: "a server waiting to be added, added as a learner, promoted",
    before: [cluster([1, 2], [member(1)])],
    after: [cluster([1, 2], [member(1), member(4, { membership: "none" })])],
    lines: ["m4 joined as a non-member (waiting to be added)"],
  },
  { name: "promotion", before: [cluster([1, 2], [member(4, { membership: "learner" })])], after: [cluster([1, 2], [member(4)])], lines: ["m4 promoted to voter"] },
  {
    name: "a voter only in the leader's configuration reports for the first time",
    before: [cluster([1, 2], [member(2, { role: null, lastHeartbeatMsAgo: null, liveness: "unreachable" })])],
    after: [cluster([1, 2], [member(2)])],
    lines: ["m2 joined as voter"],
  },
  { name: "forgotten", before: [cluster(null, [member(1), member(2)])], after: [cluster(null, [member(1)])], lines: ["m2 forgotten (silent too long)"] },
];

describe("coordinator view changes", () => {
  for (const row of rows) {
    it(row.name, () => {
      expect(viewChanges(row.before, row.after).map(describeCoordEvent)).toEqual(row.lines);
    });
  }
});
