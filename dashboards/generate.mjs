#!/usr/bin/env node
// The Grafana dashboard for KVRaft, written as data: rows of panels over the metrics the
// servers, the coordinator and the operator register (test/chart/dashboard.test.ts checks
// every metric a query names is one the code registers). This file is the source; the JSON
// it writes is what Grafana imports and what the chart's ConfigMap carries:
//
//   node dashboards/generate.mjs          rewrite dashboards/kvraft.json and the chart's copy
//
// The pods of a KVRaftCluster NAME are NAME-0, NAME-1, ...; the "cluster" variable is that
// NAME, taken from the pod label Prometheus attaches to every scraped series.
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
export const DASHBOARD_FILES = [
  join(here, "kvraft.json"),
  join(here, "..", "charts", "kvraft-operator", "dashboards", "kvraft.json"),
];

const PANEL_WIDTH = 8;
const PANEL_HEIGHT = 8;
const PANELS_PER_ROW = 24 / PANEL_WIDTH;

// Label matchers shared by the queries of one kind of process.
const SERVER = 'namespace=~"$namespace", pod=~"$cluster-[0-9]+"';
const COORD = 'namespace=~"$namespace"';
const OPERATOR = "";

// `by` empty: one quantile over every series (the operator's, which has one process leading).
const p99 = (histogram, selector, by = "pod") =>
  `histogram_quantile(0.99, sum by (${["le", by].filter((label) => label !== "").join(", ")}) (rate(${histogram}_bucket{${selector}}[$__rate_interval])))`;
const rateBy = (counter, selector, by) => `sum by (${by}) (rate(${counter}{${selector}}[$__rate_interval]))`;

/** One panel; `unit` is a Grafana unit id, `legend` a legend template. */
const timeseries = (title, description, targets, unit = "short") => ({ type: "timeseries", title, description, targets, unit });
const stat = (title, description, targets, unit = "short") => ({ type: "stat", title, description, targets, unit });
const q = (expr, legend) => ({ expr, legend });

const ROWS = [
  {
    title: "Raft",
    panels: [
      stat("Leader", "The member the pods believe leads (0: none). Members that disagree for long point at a partition.",
        [q(`max by (pod) (kvraft_raft_leader_id{${SERVER}})`, "{{pod}}")]),
      stat("Term", "The highest term; a term that keeps rising means elections keep happening.",
        [q(`max(kvraft_raft_term{${SERVER}})`, "term")]),
      timeseries("Roles", "Each member's Raft role (1 for the role it has).",
        [q(`sum by (role) (kvraft_raft_role{${SERVER}})`, "{{role}}")]),
      timeseries("Leader changes", "How often each member saw the leader change.",
        [q(`sum by (pod) (increase(kvraft_raft_leader_changes_total{${SERVER}}[$__rate_interval]))`, "{{pod}}")]),
      timeseries("Commit and apply rate", "Entries committed and applied per second on each member.",
        [q(`rate(kvraft_raft_commit_index{${SERVER}}[$__rate_interval])`, "commit {{pod}}"),
          q(`rate(kvraft_raft_applied_index{${SERVER}}[$__rate_interval])`, "apply {{pod}}")], "ops"),
      timeseries("Follower lag", "Entries each member is behind the leader's last index (reported by the leader).",
        [q(`max by (peer) (kvraft_raft_follower_lag_entries{${SERVER}})`, "member {{peer}}")]),
      timeseries("Apply lag", "Committed entries not yet applied, per member; /readyz fails past --ready-lag-entries.",
        [q(`kvraft_raft_commit_index{${SERVER}} - kvraft_raft_applied_index{${SERVER}}`, "{{pod}}")]),
      stat("Non-voting members", "Members that came back with a lost disk and wait, non-voting, to catch up.",
        [q(`sum(kvraft_raft_non_voting{${SERVER}})`, "non-voting")]),
      timeseries("Pipelined appends in flight", "Leader: appends sent and not yet acknowledged, per follower.",
        [q(`max by (peer) (kvraft_raft_inflight_messages{${SERVER}})`, "member {{peer}}")]),
    ],
  },
  {
    title: "Requests",
    panels: [
      timeseries("Requests by operation", "Client requests per second, by protocol and operation.",
        [q(rateBy("kvraft_kv_requests_total", SERVER, "protocol, op"), "{{protocol}} {{op}}")], "reqps"),
      timeseries("Requests by result", "Client requests per second by result; anything but ok deserves a look.",
        [q(rateBy("kvraft_kv_requests_total", SERVER, "result"), "{{result}}")], "reqps"),
      timeseries("Request latency p99", "99th percentile of client request latency, by operation.",
        [q(p99("kvraft_kv_request_seconds", SERVER, "op"), "{{op}}")], "s"),
      timeseries("Proposal to apply p99", "On the leader: time from proposing an entry to applying it.",
        [q(p99("kvraft_raft_proposal_commit_seconds", SERVER), "{{pod}}")], "s"),
      timeseries("ReadIndex p99", "Time to confirm a linearizable read point.",
        [q(p99("kvraft_raft_read_index_seconds", SERVER), "{{pod}}")], "s"),
      timeseries("Proposals", "Entries proposed per second by the leader.",
        [q(rateBy("kvraft_raft_proposals_total", SERVER, "pod"), "{{pod}}")], "ops"),
    ],
  },
  {
    title: "Storage",
    panels: [
      timeseries("fsync p99", "One group-commit flush: the WAL write and its fsync.",
        [q(p99("kvraft_storage_fsync_seconds", SERVER), "{{pod}}")], "s"),
      timeseries("Writes per fsync", "How many writes one fsync carries on average (group commit at work).",
        [q(`sum by (pod) (rate(kvraft_storage_writes_per_fsync_sum{${SERVER}}[$__rate_interval])) / sum by (pod) (rate(kvraft_storage_writes_per_fsync_count{${SERVER}}[$__rate_interval]))`, "{{pod}}")]),
      timeseries("WAL throughput", "Bytes written to the write-ahead log per second.",
        [q(`rate(kvraft_storage_written_bytes_total{${SERVER}}[$__rate_interval])`, "{{pod}}")], "Bps"),
      timeseries("Time in WAL writes", "Share of each second spent writing and syncing the WAL.",
        [q(`rate(kvraft_storage_flush_seconds_total{${SERVER}}[$__rate_interval])`, "{{pod}}")], "percentunit"),
      timeseries("Keys and data", "Keys and bytes of keys and values in the state machine.",
        [q(`max(kvraft_kv_keys{${SERVER}})`, "keys"), q(`max(kvraft_kv_size_bytes{${SERVER}})`, "bytes")]),
      timeseries("Snapshots", "Size of the newest snapshot and WAL segment files on disk.",
        [q(`kvraft_storage_snapshot_bytes{${SERVER}}`, "snapshot bytes {{pod}}"), q(`kvraft_storage_segments{${SERVER}}`, "segments {{pod}}")]),
      timeseries("Snapshot duration p99", "Time to take and save a local snapshot.",
        [q(p99("kvraft_storage_snapshot_seconds", SERVER), "{{pod}}")], "s"),
      stat("Disk full", "Members whose disk is full: they refuse writes until space is freed.",
        [q(`sum(kvraft_storage_disk_full{${SERVER}})`, "disk full")]),
      timeseries("Snapshot chunks sent", "InstallSnapshot chunks sent to followers too far behind for the log.",
        [q(rateBy("kvraft_raft_snapshot_chunks_sent_total", SERVER, "pod"), "{{pod}}")], "ops"),
    ],
  },
  {
    title: "Peer transport",
    panels: [
      timeseries("Peer traffic", "Bytes per second sent and received between members.",
        [q(rateBy("kvraft_transport_sent_bytes_total", SERVER, "pod"), "sent {{pod}}"),
          q(rateBy("kvraft_transport_received_bytes_total", SERVER, "pod"), "received {{pod}}")], "Bps"),
      timeseries("Peer messages", "Raft messages per second sent and received.",
        [q(rateBy("kvraft_transport_sent_messages_total", SERVER, "pod"), "sent {{pod}}"),
          q(rateBy("kvraft_transport_received_messages_total", SERVER, "pod"), "received {{pod}}")], "ops"),
      timeseries("Reconnects and drops", "Peer reconnections, and messages dropped because a peer's queue was full.",
        [q(`sum by (pod, peer) (increase(kvraft_transport_reconnects_total{${SERVER}}[$__rate_interval]))`, "reconnects {{pod}} -> {{peer}}"),
          q(`sum by (pod, peer) (increase(kvraft_transport_dropped_messages_total{${SERVER}}[$__rate_interval]))`, "dropped {{pod}} -> {{peer}}")]),
    ],
  },
  {
    title: "Coordinator",
    panels: [
      timeseries("Members by liveness", "What the coordinator sees: members alive and unreachable, per cluster id.",
        [q(`sum by (cluster_id, liveness) (kvraft_coord_members{${COORD}})`, "{{liveness}} {{cluster_id}}")]),
      timeseries("Heartbeats", "Register and heartbeat requests per second by result.",
        [q(rateBy("kvraft_coord_heartbeats_total", COORD, "kind, result"), "{{kind}} {{result}}")], "reqps"),
      timeseries("Leader seen", "The leader and its term as the coordinator shows them.",
        [q(`max by (cluster_id) (kvraft_coord_leader_id{${COORD}})`, "leader {{cluster_id}}"),
          q(`max by (cluster_id) (kvraft_coord_leader_term{${COORD}})`, "term {{cluster_id}}")]),
      stat("Clusters tracked", "Clusters the coordinators track.",
        [q(`sum(kvraft_coord_clusters{${COORD}})`, "clusters")]),
    ],
  },
  {
    title: "Operator",
    panels: [
      timeseries("Reconciles", "Reconciles per second, and those that failed (they are retried with backoff).",
        [q(`sum(rate(kvraft_operator_reconciles_total[$__rate_interval]))`, "reconciles"),
          q(`sum(rate(kvraft_operator_reconcile_errors_total[$__rate_interval]))`, "errors")], "ops"),
      timeseries("Reconcile duration p99", "99th percentile of one reconcile's duration.",
        [q(p99("kvraft_operator_reconcile_duration_seconds", OPERATOR, ""), "p99")], "s"),
      stat("Clusters by phase", "KVRaftClusters by phase, as the active operator sees them.",
        [q("sum by (phase) (kvraft_operator_clusters)", "{{phase}}")]),
      timeseries("Steps carried out", "The planner's steps by kind: learners added and promoted, members removed, leadership moved, pods rolled.",
        [q("sum by (kind) (increase(kvraft_operator_plan_steps_total[$__rate_interval]))", "{{kind}}")]),
      stat("Active replica", "Which operator replica holds the leader Lease (1) and reconciles.",
        [q("max by (pod) (kvraft_operator_leader)", "{{pod}}")]),
      timeseries("Work queue", "Clusters waiting to be reconciled.",
        [q("sum(kvraft_operator_queue_depth)", "waiting")]),
    ],
  },
];

function panelJson(panel, id, x, y) {
  return {
    id,
    type: panel.type,
    title: panel.title,
    description: panel.description,
    datasource: { type: "prometheus", uid: "${datasource}" },
    gridPos: { h: PANEL_HEIGHT, w: PANEL_WIDTH, x, y },
    fieldConfig: { defaults: { unit: panel.unit }, overrides: [] },
    options: panel.type === "stat"
      ? { reduceOptions: { calcs: ["lastNotNull"], fields: "", values: false }, colorMode: "value", graphMode: "area" }
      : { legend: { displayMode: "list", placement: "bottom", showLegend: true }, tooltip: { mode: "multi", sort: "desc" } },
    targets: panel.targets.map((target, i) => ({
      refId: String.fromCharCode(65 + i),
      datasource: { type: "prometheus", uid: "${datasource}" },
      expr: target.expr,
      legendFormat: target.legend,
    })),
  };
}

function queryVariable(name, label, query, regex = "") {
  return {
    name, label, type: "query", query, regex,
    datasource: { type: "prometheus", uid: "${datasource}" },
    refresh: 2, includeAll: true, multi: false, allValue: ".*", sort: 1,
    current: {}, options: [], hide: 0,
  };
}

/** The dashboard as Grafana's JSON model. */
export function dashboard() {
  const panels = [];
  let id = 1;
  let y = 0;
  for (const row of ROWS) {
    panels.push({ id: id++, type: "row", title: row.title, collapsed: false, gridPos: { h: 1, w: 24, x: 0, y }, panels: [] });
    y += 1;
    row.panels.forEach((panel, i) => {
      const x = (i % PANELS_PER_ROW) * PANEL_WIDTH;
      const rowY = y + Math.floor(i / PANELS_PER_ROW) * PANEL_HEIGHT;
      panels.push(panelJson(panel, id++, x, rowY));
    });
    y += Math.ceil(row.panels.length / PANELS_PER_ROW) * PANEL_HEIGHT;
  }
  return {
    uid: "kvraft-overview",
    title: "KVRaft",
    description: "KVRaft clusters: Raft, requests, storage, peer transport, coordinator and operator.",
    tags: ["kvraft", "raft", "database"],
    editable: true,
    graphTooltip: 1,
    refresh: "30s",
    schemaVersion: 39,
    time: { from: "now-1h", to: "now" },
    timezone: "",
    templating: {
      list: [
        { name: "datasource", label: "Data source", type: "datasource", query: "prometheus", current: {}, hide: 0, refresh: 1 },
        queryVariable("namespace", "Namespace", "label_values(kvraft_raft_term, namespace)"),
        // A KVRaftCluster NAME runs pods NAME-0, NAME-1, ...: the cluster is the pod name less its ordinal.
        queryVariable("cluster", "Cluster", 'label_values(kvraft_raft_term{namespace=~"$namespace"}, pod)', "/^(.*)-[0-9]+$/"),
      ],
    },
    annotations: { list: [] },
    panels,
  };
}

/** The file's text: stable key order, two-space indentation, a final newline. */
export function dashboardText() {
  return `${JSON.stringify(dashboard(), null, 2)}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const file of DASHBOARD_FILES) writeFileSync(file, dashboardText());
  process.stdout.write(`wrote ${DASHBOARD_FILES.length} copies of the dashboard\n`);
}
