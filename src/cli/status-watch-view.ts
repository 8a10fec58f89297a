import type { ClusterView } from "../coord/cluster-view.js";
import type { SseEvent } from "../coord/sse-parser.js";
import type { HistoryEntry } from "../coord/view-history.js";
import type { StreamSnapshot, StreamView } from "../coord/view-stream.js";
import { textTable } from "./text-table.js";

/** What `kvraft status --watch` knows from the coordinator's stream. */
export interface FollowedView {
  readonly clusters: readonly ClusterView[];
  readonly history: readonly HistoryEntry[];
  /** "live", or why not ("disconnected: ...", "connecting"). */
  readonly connection: string;
}

/** The most recent changes shown under the table; the coordinator keeps more. */
export const WATCH_HISTORY_LINES = 10;

export const NOTHING_YET: FollowedView = { clusters: [], history: [], connection: "connecting" };

/** The view after one stream event (pure; an event of another name changes nothing). */
export function applyStreamEvent(view: FollowedView, event: SseEvent): FollowedView {
  switch (event.event) {
    case "snapshot": {
      const data = JSON.parse(event.data) as StreamSnapshot;
      return { clusters: data.clusters, history: data.history.slice(-WATCH_HISTORY_LINES), connection: "live" };
    }
    case "view":
      return { ...view, clusters: (JSON.parse(event.data) as StreamView).clusters };
    case "change":
      return { ...view, history: [...view.history, JSON.parse(event.data) as HistoryEntry].slice(-WATCH_HISTORY_LINES) };
    default:
      return view;
  }
}

/** The screen: where it comes from, each cluster's members (the leader starred), the recent changes. */
export function followedLines(view: FollowedView, source: string): string[] {
  const lines = [`following the coordinator ${source}: ${view.connection}`];
  if (view.clusters.length === 0) lines.push("", "no member has reported to this coordinator yet");
  for (const cluster of view.clusters) {
    lines.push("", `cluster ${cluster.clusterId}: ${cluster.leader === null ? "no leader known" : `leader m${cluster.leader.id} in term ${cluster.leader.term}`}`);
    const rows = [["", "ID", "ROLE", "MEMBERSHIP", "TERM", "COMMIT", "APPLIED", "LAG", "LIVENESS", "LAST HEARD", "HTTP"]];
    for (const m of cluster.members) {
      const isLeader = cluster.leader?.id === m.id;
      rows.push([isLeader ? "*" : "", `m${m.id}`, m.role === "leader" && !isLeader ? "leader (older term)" : shown(m.role), m.membership,
        shown(m.term), shown(m.commitIndex), shown(m.appliedIndex), shown(m.lag), m.liveness,
        m.lastHeartbeatMsAgo === null ? "never" : `${(m.lastHeartbeatMsAgo / 1000).toFixed(1)} s ago`, m.addresses.http ?? "-"]);
    }
    lines.push(...textTable(rows));
  }
  if (view.history.length > 0) {
    lines.push("", "recent changes (newest last):");
    const several = view.clusters.length > 1;
    for (const entry of view.history) lines.push(`  ${new Date(entry.atMs).toTimeString().slice(0, 8)}  ${entry.text}${several ? ` (${entry.event.clusterId})` : ""}`);
  }
  return lines;
}

/** The view without what moves by itself (ages): a pipe gets a new frame only when this changes. */
export function followedKey(view: FollowedView): string {
  return JSON.stringify({ ...view, clusters: view.clusters.map((c) => ({ ...c, members: c.members.map(({ lastHeartbeatMsAgo: _age, ...rest }) => rest) })) });
}

function shown(value: number | string | null): string {
  return value === null ? "-" : String(value);
}
