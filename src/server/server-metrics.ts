import type { DiskStorage } from "../storage/index.js";
import type { TcpTransport } from "../transport/index.js";
import type { Replica } from "./replica.js";
import type { ReplicaMetrics } from "./replica-metrics.js";

const ROLES = ["follower", "pre-candidate", "candidate", "leader"] as const;

/** The data size quota, for its gauges: its size (0: none) and whether writes are refused for it. */
export interface QuotaView {
  readonly quotaBytes: number;
  readonly exceeded: () => boolean;
}

/** Gauges read at scrape time from the replica, the storage, the transport and the quota. */
export function registerServerMetrics(metrics: ReplicaMetrics, replica: Replica, storage: DiskStorage, transport: TcpTransport, quota: QuotaView): void {
  metrics.gauge("kvraft_raft_term", "The current Raft term.", () => replica.status().term);
  metrics.gauge("kvraft_raft_commit_index", "The highest log index known committed.", () => replica.status().commit);
  metrics.gauge("kvraft_raft_applied_index", "The highest log index applied to the state machine.", () => replica.state().appliedIndex);
  metrics.gauge("kvraft_raft_last_index", "The last index in this member's log.", () => replica.status().lastIndex);
  metrics.gauge("kvraft_raft_leader_id", "The member this one believes leads (0: none).", () => replica.status().leader);
  metrics.gauge("kvraft_raft_non_voting", "1 while this member may have lost acknowledged entries and does not vote.", () => (replica.status().nonVoting ? 1 : 0));
  metrics.labelledGauge("kvraft_raft_role", "1 for this member's current Raft role.", ["role"], () =>
    ROLES.map((role) => ({ labels: { role }, value: replica.status().role === role ? 1 : 0 })));
  metrics.labelledGauge("kvraft_raft_inflight_messages", "Leader: pipelined appends in flight per follower.", ["peer"], () =>
    replica.status().progress.map((p) => ({ labels: { peer: String(p.id) }, value: p.inflight })));
  metrics.labelledGauge("kvraft_raft_follower_lag_entries", "Leader: entries each member is behind the leader's last index.", ["peer"], () => {
    const status = replica.status();
    return status.progress.map((p) => ({ labels: { peer: String(p.id) }, value: Math.max(0, status.lastIndex - p.match) }));
  });
  metrics.counter("kvraft_storage_flushes_total", "Group-commit flushes (one write and one fsync each).", () => storage.status().flushes);
  metrics.counter("kvraft_storage_written_bytes_total", "Bytes written to the WAL.", () => storage.status().bytesFlushed);
  metrics.counter("kvraft_storage_flushed_items_total", "Writes carried by group-commit flushes.", () => storage.status().itemsFlushed);
  metrics.counter("kvraft_storage_flush_seconds_total", "Time spent in WAL writes and fsyncs.", () => storage.status().flushMicroseconds / 1e6);
  metrics.gauge("kvraft_storage_segments", "WAL segment files on disk.", () => storage.status().segmentCount);
  metrics.counter("kvraft_raft_snapshots_refused_total", "Snapshots from the leader refused because their data did not match their CRC32C or did not decode (discarded; the leader sends them again).", () => replica.snapshotsRefused());
  metrics.gauge("kvraft_storage_snapshot_bytes", "Size of the newest snapshot.", () => storage.snapshotMeta().sizeBytes);
  metrics.gauge("kvraft_storage_disk_full", "1 while the disk is full and writes are refused.", () => (storage.status().diskFull ? 1 : 0));
  metrics.gauge("kvraft_server_disk_full", "1 while a write found the disk full: writes are refused (NOSPACE) and the write is retried.", () => (replica.diskFullMessage() === undefined ? 0 : 1));
  metrics.counter("kvraft_server_disk_full_retries_total", "Writes that found the disk full and were tried again.", () => replica.diskFull.retries());
  metrics.gauge("kvraft_kv_keys", "Keys in the state machine.", () => replica.state().keyCount());
  metrics.gauge("kvraft_kv_size_bytes", "Bytes of keys and values in the state machine.", () => replica.state().sizeBytes());
  metrics.gauge("kvraft_kv_quota_bytes", "The data size quota: writes that would grow kvraft_kv_size_bytes past it are refused (NOSPACE); 0: no quota.", () => quota.quotaBytes);
  metrics.gauge("kvraft_kv_quota_exceeded", "1 while writes that grow the data are refused because it reached its quota (the NOSPACE alarm).", () => (quota.exceeded() ? 1 : 0));
  const peerStats = (field: "sentBytes" | "sentMessages" | "writes" | "receivedBytes" | "receivedMessages" | "reconnects" | "dropped") => () =>
    [...transport.stats()].map(([peer, stats]) => ({ labels: { peer: String(peer) }, value: stats[field] }));
  metrics.labelledCounter("kvraft_transport_sent_bytes_total", "Bytes sent to each peer.", ["peer"], peerStats("sentBytes"));
  metrics.labelledCounter("kvraft_transport_writes_total", "Socket writes to each peer (each carries a batch of messages).", ["peer"], peerStats("writes"));
  metrics.labelledCounter("kvraft_transport_sent_messages_total", "Raft messages sent to each peer.", ["peer"], peerStats("sentMessages"));
  metrics.labelledCounter("kvraft_transport_received_bytes_total", "Bytes received from each peer.", ["peer"], peerStats("receivedBytes"));
  metrics.labelledCounter("kvraft_transport_received_messages_total", "Raft messages received from each peer.", ["peer"], peerStats("receivedMessages"));
  metrics.labelledCounter("kvraft_transport_reconnects_total", "Reconnections to each peer.", ["peer"], peerStats("reconnects"));
  metrics.labelledCounter("kvraft_transport_dropped_messages_total", "Messages dropped for each peer (queue full).", ["peer"], peerStats("dropped"));
}
