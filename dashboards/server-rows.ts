/**
 * The rows about the servers: Raft, client requests, storage and the peer transport. Each
 * metric family the servers register (src/server/) is read by at least one panel here;
 * test/chart/dashboard.test.ts holds the list to the code.
 */
import { increaseBy, meanBy, p99, rateBy, SERVER, series } from "./promql.js";
import { stat, target, timeseries, type Panel } from "./panels.js";

export interface Row {
  readonly title: string;
  readonly panels: readonly Panel[];
}

const s = (metric: string): string => series(metric, SERVER);
/** A gauge that only grows between restarts (a log index): its per-second growth. */
const growth = (gauge: string): string => `deriv(${s(gauge)}[$__rate_interval])`;

const raft: Row = {
  title: "Raft",
  panels: [
    stat("Leader", "The member each pod believes leads (0: none). Members that disagree for long point at a partition.",
      [target(`max by (pod) (${s("kvraft_raft_leader_id")})`, "{{pod}}")]),
    stat("Term", "The highest term; a term that keeps rising means elections keep happening.",
      [target(`max(${s("kvraft_raft_term")})`, "term")]),
    timeseries("Roles", "Members in each Raft role.",
      [target(`sum by (role) (${s("kvraft_raft_role")})`, "{{role}}")]),
    timeseries("Leader changes", "How often each member saw the leader change.",
      [target(increaseBy("kvraft_raft_leader_changes_total", SERVER, ["pod"]), "{{pod}}")]),
    timeseries("Log growth", "Entries appended, committed and applied per second on each member.",
      [target(growth("kvraft_raft_last_index"), "appended {{pod}}"), target(growth("kvraft_raft_commit_index"), "committed {{pod}}"),
        target(growth("kvraft_raft_applied_index"), "applied {{pod}}")], "ops"),
    timeseries("Follower lag", "Entries each member is behind the leader's last index (reported by the leader).",
      [target(`max by (peer) (${s("kvraft_raft_follower_lag_entries")})`, "member {{peer}}")]),
    timeseries("Apply lag", "Committed entries not yet applied, per member; /readyz fails past --ready-lag-entries.",
      [target(`${s("kvraft_raft_commit_index")} - ${s("kvraft_raft_applied_index")}`, "{{pod}}")]),
    stat("Non-voting members", "Members that came back with a lost disk and wait, non-voting, to catch up.",
      [target(`sum(${s("kvraft_raft_non_voting")})`, "non-voting")]),
    timeseries("Pipelined appends in flight", "Leader: appends sent and not yet acknowledged, per follower.",
      [target(`max by (peer) (${s("kvraft_raft_inflight_messages")})`, "member {{peer}}")]),
  ],
};

const requests: Row = {
  title: "Requests",
  panels: [
    timeseries("Requests by operation", "Client requests per second, by protocol and operation.",
      [target(rateBy("kvraft_kv_requests_total", SERVER, ["protocol", "op"]), "{{protocol}} {{op}}")], "reqps"),
    timeseries("Requests by result", "Client requests per second by result; anything but ok deserves a look.",
      [target(rateBy("kvraft_kv_requests_total", SERVER, ["protocol", "result"]), "{{protocol}} {{result}}")], "reqps"),
    timeseries("Request latency p99", "99th percentile of client request latency, by protocol and operation.",
      [target(p99("kvraft_kv_request_seconds", SERVER, ["protocol", "op"]), "{{protocol}} {{op}}")], "s"),
    timeseries("Proposal to apply p99", "On the leader: time from proposing an entry to applying it.",
      [target(p99("kvraft_raft_proposal_commit_seconds", SERVER, ["pod"]), "{{pod}}")], "s"),
    timeseries("ReadIndex p99", "Time to confirm a linearizable read point.",
      [target(p99("kvraft_raft_read_index_seconds", SERVER, ["pod"]), "{{pod}}")], "s"),
    timeseries("Proposals", "Entries proposed per second by the leader.",
      [target(rateBy("kvraft_raft_proposals_total", SERVER, ["pod"]), "{{pod}}")], "ops"),
  ],
};

const storage: Row = {
  title: "Storage",
  panels: [
    timeseries("fsync p99", "One group-commit flush: the WAL write and its fsync.",
      [target(p99("kvraft_storage_fsync_seconds", SERVER, ["pod"]), "{{pod}}")], "s"),
    timeseries("Group commit", "Flushes (one write and one fsync each) and the writes they carry, per second.",
      [target(rateBy("kvraft_storage_flushes_total", SERVER, ["pod"]), "flushes {{pod}}"),
        target(rateBy("kvraft_storage_flushed_items_total", SERVER, ["pod"]), "writes {{pod}}")], "ops"),
    timeseries("Writes per fsync", "How many writes one fsync carries on average (group commit at work).",
      [target(meanBy("kvraft_storage_writes_per_fsync", SERVER, ["pod"]), "{{pod}}")]),
    timeseries("WAL throughput", "Bytes written to the write-ahead log per second.",
      [target(rateBy("kvraft_storage_written_bytes_total", SERVER, ["pod"]), "{{pod}}")], "Bps"),
    timeseries("Time in WAL writes", "Share of each second spent writing and syncing the WAL.",
      [target(rateBy("kvraft_storage_flush_seconds_total", SERVER, ["pod"]), "{{pod}}")], "percentunit"),
    timeseries("Keys", "Keys in the state machine.",
      [target(`max(${s("kvraft_kv_keys")})`, "keys")]),
    timeseries("Data and quota", "Bytes of keys and values in the state machine, and the quota past which writes are refused (0: none).",
      [target(`max(${s("kvraft_kv_size_bytes")})`, "data"), target(`max(${s("kvraft_kv_quota_bytes")})`, "quota")], "bytes"),
    timeseries("Snapshots and segments", "Size of the newest snapshot, and WAL segment files on disk.",
      [target(`max by (pod) (${s("kvraft_storage_snapshot_bytes")})`, "snapshot bytes {{pod}}"),
        target(`max by (pod) (${s("kvraft_storage_segments")})`, "segments {{pod}}")]),
    timeseries("Snapshot duration p99", "Time to take and save a local snapshot.",
      [target(p99("kvraft_storage_snapshot_seconds", SERVER, ["pod"]), "{{pod}}")], "s"),
    stat("Writes refused", "Members refusing writes: the disk is full (storage, server) or the data reached its quota.",
      [target(`sum(${s("kvraft_storage_disk_full")})`, "disk full (storage)"), target(`sum(${s("kvraft_server_disk_full")})`, "disk full (server)"),
        target(`sum(${s("kvraft_kv_quota_exceeded")})`, "quota reached")]),
    timeseries("Disk-full retries", "Writes that found the disk full and were tried again.",
      [target(increaseBy("kvraft_server_disk_full_retries_total", SERVER, ["pod"]), "{{pod}}")]),
    timeseries("Snapshots to followers", "InstallSnapshot chunks sent to followers too far behind for the log, and snapshots a follower refused (bad checksum or data).",
      [target(rateBy("kvraft_raft_snapshot_chunks_sent_total", SERVER, ["pod"]), "chunks sent {{pod}}"),
        target(increaseBy("kvraft_raft_snapshots_refused_total", SERVER, ["pod"]), "refused {{pod}}")], "ops"),
  ],
};

const transport: Row = {
  title: "Peer transport",
  panels: [
    timeseries("Peer traffic", "Bytes per second sent and received between members.",
      [target(rateBy("kvraft_transport_sent_bytes_total", SERVER, ["pod"]), "sent {{pod}}"),
        target(rateBy("kvraft_transport_received_bytes_total", SERVER, ["pod"]), "received {{pod}}")], "Bps"),
    timeseries("Peer messages", "Raft messages per second sent and received, and the socket writes that carry them (batched).",
      [target(rateBy("kvraft_transport_sent_messages_total", SERVER, ["pod"]), "sent {{pod}}"),
        target(rateBy("kvraft_transport_received_messages_total", SERVER, ["pod"]), "received {{pod}}"),
        target(rateBy("kvraft_transport_writes_total", SERVER, ["pod"]), "socket writes {{pod}}")], "ops"),
    timeseries("Reconnects and drops", "Peer reconnections, and messages dropped because a peer's queue was full.",
      [target(increaseBy("kvraft_transport_reconnects_total", SERVER, ["pod", "peer"]), "reconnects {{pod}} -> {{peer}}"),
        target(increaseBy("kvraft_transport_dropped_messages_total", SERVER, ["pod", "peer"]), "dropped {{pod}} -> {{peer}}")]),
    timeseries("Peer connections refused", "Connections and messages refused by the handshake, the edge checks or TLS, by reason.",
      [target(increaseBy("kvraft_transport_refused_total", SERVER, ["reason"]), "{{reason}}")]),
  ],
};

export const SERVER_ROWS: readonly Row[] = [raft, requests, storage, transport];
