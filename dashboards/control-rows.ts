/**
 * The rows about the processes around the data: the coordinator (src/coord/metrics.ts),
 * the operator (src/operator/controller/metrics.ts), and every process's own health
 * (prom-client's process and Node.js metrics, src/process-metrics.ts).
 */
import { COMPONENTS, COORDINATOR, increaseBy, OPERATOR, p99, rateBy, series } from "./promql.js";
import { stat, target, timeseries, type Target } from "./panels.js";
import type { Row } from "./server-rows.js";

const coordinator: Row = {
  title: "Coordinator",
  panels: [
    timeseries("Members by liveness", "What the coordinator sees: members alive and unreachable, per cluster id.",
      [target(`sum by (cluster_id, liveness) (${series("kvraft_coord_members", COORDINATOR)})`, "{{liveness}} {{cluster_id}}")]),
    timeseries("Heartbeats", "Register and heartbeat requests per second by result.",
      [target(rateBy("kvraft_coord_heartbeats_total", COORDINATOR, ["kind", "result"]), "{{kind}} {{result}}")], "reqps"),
    timeseries("Leader seen", "The leader and its term as the coordinator shows them.",
      [target(`max by (cluster_id) (${series("kvraft_coord_leader_id", COORDINATOR)})`, "leader {{cluster_id}}"),
        target(`max by (cluster_id) (${series("kvraft_coord_leader_term", COORDINATOR)})`, "term {{cluster_id}}")]),
    stat("Clusters tracked", "Clusters the coordinators track.",
      [target(`sum(${series("kvraft_coord_clusters", COORDINATOR)})`, "clusters")]),
  ],
};

const operator: Row = {
  title: "Operator",
  panels: [
    timeseries("Reconciles", "Reconciles per second by result, and those that failed (they are retried with backoff).",
      [target(rateBy("kvraft_operator_reconciles_total", OPERATOR, ["result"]), "{{result}}"),
        target(rateBy("kvraft_operator_reconcile_errors_total", OPERATOR, []), "errors")], "ops"),
    timeseries("Reconcile duration p99", "99th percentile of one reconcile's duration.",
      [target(p99("kvraft_operator_reconcile_duration_seconds", OPERATOR, []), "p99")], "s"),
    stat("Clusters by phase", "KVRaftClusters by phase, as the active operator sees them.",
      [target(`sum by (phase) (${series("kvraft_operator_clusters", OPERATOR)})`, "{{phase}}")]),
    timeseries("Steps carried out", "The planner's steps by kind: learners added and promoted, members removed, leadership moved, pods rolled.",
      [target(increaseBy("kvraft_operator_plan_steps_total", OPERATOR, ["kind"]), "{{kind}}")]),
    timeseries("API writes", "Objects the operator wrote to the API server (applies and status writes), by kind.",
      [target(increaseBy("kvraft_operator_api_writes_total", OPERATOR, ["kind"]), "{{kind}}")]),
    stat("Active replica", "Which operator replica holds the leader Lease (1) and reconciles.",
      [target(`max by (pod) (${series("kvraft_operator_leader", OPERATOR)})`, "{{pod}}")]),
    timeseries("Work queue", "Clusters waiting to be reconciled.",
      [target(`sum(${series("kvraft_operator_queue_depth", OPERATOR)})`, "waiting")]),
    timeseries("Backups", "KVRaftBackups finished, Completed or Failed (kubectl describe kvraftbackup says why one failed).",
      [target(increaseBy("kvraft_operator_backups_total", OPERATOR, ["phase"]), "{{phase}}")]),
    stat("Since the last backup", "Per cluster, how long ago its last KVRaftBackup completed.",
      [target(`time() - max by (cluster_namespace, cluster_name) (${series("kvraft_operator_backup_last_completed_timestamp_seconds", OPERATOR)})`, "{{cluster_namespace}}/{{cluster_name}}")], "s"),
    timeseries("Scheduled backups", "KVRaftScheduledBackup slots by outcome (created; skipped: the previous backup still ran; missed: past the starting deadline), and backups pruned by retention.",
      [target(increaseBy("kvraft_operator_scheduled_backup_slots_total", OPERATOR, ["outcome"]), "{{outcome}}"),
        target(increaseBy("kvraft_operator_backups_pruned_total", OPERATOR, []), "pruned")]),
  ],
};

/** One query per kind of process, of the same process metric: `query` gets its full name and selector. */
function perComponent(query: (metric: (name: string) => string) => string): Target[] {
  return COMPONENTS.map((c) => target(query((name) => series(`${c.prefix}${name}`, c.selector)), `${c.name} {{pod}}`));
}

const processes: Row = {
  title: "Processes",
  panels: [
    timeseries("CPU", "CPU time used per second (1 = one core), per process.",
      perComponent((m) => `sum by (pod) (rate(${m("process_cpu_seconds_total")}[$__rate_interval]))`), "percentunit"),
    timeseries("Resident memory", "Memory the process holds in RAM.",
      perComponent((m) => `max by (pod) (${m("process_resident_memory_bytes")})`), "bytes"),
    timeseries("JavaScript heap used", "V8 heap in use; one that only grows is a leak.",
      perComponent((m) => `max by (pod) (${m("nodejs_heap_size_used_bytes")})`), "bytes"),
    timeseries("Event loop lag p99", "How late the event loop runs callbacks: every request and heartbeat waits this long too.",
      perComponent((m) => `max by (pod) (${m("nodejs_eventloop_lag_p99_seconds")})`), "s"),
    timeseries("Time in garbage collection", "Share of each second spent in GC pauses.",
      perComponent((m) => `sum by (pod) (rate(${m("nodejs_gc_duration_seconds_sum")}[$__rate_interval]))`), "percentunit"),
    timeseries("File descriptors used", "Open file descriptors as a share of the limit; at 1 no connection or file can open.",
      perComponent((m) => `max by (pod) (${m("process_open_fds")} / ${m("process_max_fds")})`), "percentunit"),
    stat("Versions", "Processes running each KVRaft and Node.js version (more than one: an upgrade is under way).",
      [target("count by (component, version, node_version) (kvraft_build_info)", "{{component}} {{version}} (Node.js {{node_version}})")]),
  ],
};

export const CONTROL_ROWS: readonly Row[] = [coordinator, operator, processes];
