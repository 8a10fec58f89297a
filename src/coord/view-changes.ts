import type { ClusterView, MemberView } from "./cluster-view.js";

/**
 * What changed between two reads of the view, as typed events. The coordinator does
 * not log (it is also a library that tests start in-process); `kvraft coord` turns these
 * into log lines, and `kvraft local` shows them in its compact log.
 */
export type CoordEvent =
  | { readonly type: "member-joined"; readonly clusterId: string; readonly id: number; readonly membership: MemberView["membership"] }
  | { readonly type: "member-unreachable"; readonly clusterId: string; readonly id: number; readonly lastHeartbeatMsAgo: number | null }
  | { readonly type: "member-alive"; readonly clusterId: string; readonly id: number }
  | { readonly type: "membership-changed"; readonly clusterId: string; readonly id: number; readonly from: MemberView["membership"]; readonly to: MemberView["membership"] }
  | { readonly type: "member-forgotten"; readonly clusterId: string; readonly id: number }
  | { readonly type: "leader-changed"; readonly clusterId: string; readonly leaderId: number | null; readonly term: number | null }
  | { readonly type: "refused"; readonly clusterId: string; readonly id: number; readonly reason: string }
  /** A report without a valid member credential: answered 401, the view unchanged. */
  | { readonly type: "unauthenticated"; readonly clusterId: string; readonly id: number; readonly remoteAddress: string | undefined; readonly reason: string };

/** The events that lead from `before` to `after` (both ordered by cluster id). */
export function viewChanges(before: readonly ClusterView[], after: readonly ClusterView[]): CoordEvent[] {
  const events: CoordEvent[] = [];
  const old = new Map(before.map((view) => [view.clusterId, view]));
  for (const view of after) {
    const previous = old.get(view.clusterId);
    old.delete(view.clusterId);
    events.push(...memberChanges(view.clusterId, previous?.members ?? [], view.members));
    const leaderBefore = previous?.leader ?? null;
    if (leaderBefore?.id !== view.leader?.id || leaderBefore?.term !== view.leader?.term) {
      events.push({ type: "leader-changed", clusterId: view.clusterId, leaderId: view.leader?.id ?? null, term: view.leader?.term ?? null });
    }
  }
  for (const gone of old.values()) events.push(...memberChanges(gone.clusterId, gone.members, []));
  return events;
}

function memberChanges(clusterId: string, before: readonly MemberView[], after: readonly MemberView[]): CoordEvent[] {
  const events: CoordEvent[] = [];
  const old = new Map(before.map((m) => [m.id, m]));
  for (const member of after) {
    const previous = old.get(member.id);
    old.delete(member.id);
    // A member shown only from the leader's configuration has not joined this
    // coordinator's view yet: it "joins" when it first reports.
    const reported = member.lastHeartbeatMsAgo !== null;
    const reportedBefore = previous !== undefined && previous.lastHeartbeatMsAgo !== null;
    if (reported && !reportedBefore) {
      events.push({ type: "member-joined", clusterId, id: member.id, membership: member.membership });
    } else if (reported && previous !== undefined && previous.liveness !== member.liveness) {
      events.push(member.liveness === "alive"
        ? { type: "member-alive", clusterId, id: member.id }
        : { type: "member-unreachable", clusterId, id: member.id, lastHeartbeatMsAgo: member.lastHeartbeatMsAgo });
    }
    if (previous !== undefined && previous.membership !== member.membership) {
      events.push({ type: "membership-changed", clusterId, id: member.id, from: previous.membership, to: member.membership });
    }
  }
  for (const gone of old.values()) events.push({ type: "member-forgotten", clusterId, id: gone.id });
  return events;
}

/** One line for a person, e.g. "m4 joined as learner", "leader m2 in term 3". */
export function describeCoordEvent(event: CoordEvent): string {
  const m = `m${"id" in event ? event.id : ""}`;
  switch (event.type) {
    case "member-joined": return `${m} joined as ${event.membership === "none" ? "a non-member (waiting to be added)" : event.membership}`;
    case "member-unreachable": return `${m} unreachable (no heartbeat for ${event.lastHeartbeatMsAgo ?? "?"} ms)`;
    case "member-alive": return `${m} alive again`;
    case "membership-changed":
      return event.from === "learner" && event.to === "voter" ? `${m} promoted to voter` : `${m} membership ${event.from} -> ${event.to}`;
    case "member-forgotten": return `${m} forgotten (silent too long)`;
    case "leader-changed": return event.leaderId === null ? "no leader known" : `leader m${event.leaderId} in term ${event.term ?? "?"}`;
    case "refused": return `${m} refused: ${event.reason}`;
    case "unauthenticated": return `a report claiming to be ${m} from ${event.remoteAddress ?? "?"} was not authenticated: ${event.reason}`;
  }
}
