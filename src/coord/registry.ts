import type { ClusterView, MemberRecord } from "./cluster-view.js";
import { buildClusterView } from "./cluster-view.js";
import type { CoordinatorConfig } from "./config.js";
import type { Heartbeat, HeartbeatKind } from "./heartbeat.js";

/** The limits of what is tracked: how many clusters and members, and (clusterId) which cluster only. */
export type RegistryLimits = Pick<CoordinatorConfig, "unreachableAfterMs" | "forgetAfterMs" | "membersPerClusterMax" | "clustersMax" | "clusterId">;

/**
 * What became of one report:
 * - accepted: it is now the member's last word;
 * - stale: it is older than what the member already said (a lower term, or the same
 *   term with a lower commit index): a delayed request, ignored so that it cannot
 *   bring back an old role or an old leader;
 * - refused: a limit is full; the member is not tracked;
 * - mismatch: the coordinator serves one cluster (clusterId) and the report is of
 *   another; the member is not tracked.
 */
export type ObserveOutcome =
  | { readonly result: "accepted"; readonly newMember: boolean }
  | { readonly result: "stale"; readonly reason: string }
  | { readonly result: "refused"; readonly reason: string; readonly limit: "clustersMax" | "membersPerClusterMax" }
  | { readonly result: "mismatch"; readonly reason: string; readonly servedClusterId: string };

/**
 * The coordinator's whole state: the last report of every member, by cluster id. It is
 * pure (time is an argument, nothing is read from the outside) and holds nothing that
 * matters: a new registry fed the next round of heartbeats has the same view, which is
 * why the coordinator can restart without a disk.
 */
export class Registry {
  private readonly clusters = new Map<string, Map<number, MemberRecord>>();

  constructor(private readonly limits: RegistryLimits) {}

  observe(heartbeat: Heartbeat, nowMs: number, kind: HeartbeatKind = "heartbeat"): ObserveOutcome {
    const { clusterId, status } = heartbeat;
    const served = this.limits.clusterId;
    if (served !== undefined && clusterId !== served) {
      return { result: "mismatch", servedClusterId: served, reason: mismatchReason(served, heartbeat) };
    }
    this.forget(nowMs);
    let members = this.clusters.get(clusterId);
    if (members === undefined) {
      if (this.clusters.size >= this.limits.clustersMax) {
        return { result: "refused", limit: "clustersMax", reason: `the coordinator already tracks ${this.clusters.size} clusters (clustersMax); cluster ${clusterId} is not tracked` };
      }
      members = new Map();
      this.clusters.set(clusterId, members);
    }
    const previous = members.get(status.memberId);
    if (previous === undefined && members.size >= this.limits.membersPerClusterMax) {
      return { result: "refused", limit: "membersPerClusterMax", reason: `cluster ${clusterId} already has ${members.size} members tracked (membersPerClusterMax); member ${status.memberId} is not tracked` };
    }
    if (previous !== undefined && kind === "heartbeat") {
      const stale = staleness(previous, heartbeat);
      if (stale !== undefined) return { result: "stale", reason: stale };
    }
    // Time as seen by the coordinator only moves forward per member, even if the
    // caller's clock steps back, so "last heard" never goes into the future.
    const lastHeartbeatMs = Math.max(nowMs, previous?.lastHeartbeatMs ?? nowMs);
    members.set(status.memberId, { status, lastHeartbeatMs });
    return { result: "accepted", newMember: previous === undefined };
  }

  /** Every cluster's view, ordered by cluster id. */
  view(nowMs: number): ClusterView[] {
    return [...this.clusters.keys()].sort().map((id) => this.clusterView(id, nowMs) as ClusterView);
  }

  clusterView(clusterId: string, nowMs: number): ClusterView | undefined {
    const members = this.clusters.get(clusterId);
    return members === undefined ? undefined : buildClusterView(clusterId, members, nowMs, this.limits.unreachableAfterMs);
  }

  clusterIds(): string[] {
    return [...this.clusters.keys()].sort();
  }

  /** Drops members silent for longer than forgetAfterMs, and clusters left empty. */
  forget(nowMs: number): void {
    for (const [clusterId, members] of this.clusters) {
      for (const [id, record] of members) {
        if (nowMs - record.lastHeartbeatMs > this.limits.forgetAfterMs) members.delete(id);
      }
      if (members.size === 0) this.clusters.delete(clusterId);
    }
  }
}

/** Read by the member in its log (the coordinator reporter shows the answer's message). */
function mismatchReason(served: string, { clusterId, status }: Heartbeat): string {
  return `this coordinator serves cluster ${served} only (--cluster-id), but member ${status.memberId} reports for cluster ${clusterId}: it is not tracked. `
    + `Point the member's --coord at the coordinator of cluster ${clusterId}; or, if its cluster was rebuilt as cluster ${served} (a quorum-loss recovery), `
    + "the member is left from the old history: stop it, or start it again empty with the new id (docs/DISASTER-RECOVERY.md)";
}

/**
 * A member's term and commit index never go down while its process lives (both are
 * durable or derived from durable state), so a report below the last one is a delayed
 * request. A restart registers again, which starts afresh.
 */
function staleness(previous: MemberRecord, heartbeat: Heartbeat): string | undefined {
  const before = previous.status;
  const now = heartbeat.status;
  if (now.term < before.term) return `term ${now.term} is below the term ${before.term} member ${now.memberId} already reported`;
  if (now.term === before.term && now.commitIndex < before.commitIndex) {
    return `commit index ${now.commitIndex} is below the ${before.commitIndex} member ${now.memberId} already reported in term ${now.term}`;
  }
  return undefined;
}
