import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { registerProcessMetrics } from "../process-metrics.js";
import { RequestTally } from "./request-tally.js";

/** Latency buckets in seconds, from a fraction of an fsync to a stalled election. */
const LATENCY_BUCKETS_SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * The Raft and request metrics a member exposes on /metrics. Gauges that mirror state
 * (term, indexes, storage counters) are filled at scrape time by `collect` callbacks
 * the server registers, so the hot path only counts and observes.
 */
export class ReplicaMetrics {
  readonly registry = new Registry();
  readonly proposals = new Counter({ name: "kvraft_raft_proposals_total", help: "Entries proposed by this member as leader.", registers: [this.registry] });
  readonly proposalCommitSeconds = new Histogram({
    name: "kvraft_raft_proposal_commit_seconds", help: "Time from proposal to apply on the proposing leader.",
    buckets: LATENCY_BUCKETS_SECONDS, registers: [this.registry],
  });
  readonly readIndexSeconds = new Histogram({
    name: "kvraft_raft_read_index_seconds", help: "Time to confirm a linearizable read point (ReadIndex).",
    buckets: LATENCY_BUCKETS_SECONDS, registers: [this.registry],
  });
  readonly leaderChanges = new Counter({ name: "kvraft_raft_leader_changes_total", help: "Times this member saw the leader change.", registers: [this.registry] });
  readonly snapshotSeconds = new Histogram({
    name: "kvraft_storage_snapshot_seconds", help: "Time to take and save a local snapshot.",
    buckets: LATENCY_BUCKETS_SECONDS, registers: [this.registry],
  });
  readonly fsyncSeconds = new Histogram({
    name: "kvraft_storage_fsync_seconds", help: "Time of one group-commit flush: the WAL write and its fsync.",
    buckets: LATENCY_BUCKETS_SECONDS, registers: [this.registry],
  });
  readonly entriesPerFsync = new Histogram({
    name: "kvraft_storage_writes_per_fsync", help: "Writes (Ready batches) carried by one fsync.",
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256], registers: [this.registry],
  });
  readonly snapshotSends = new Counter({ name: "kvraft_raft_snapshot_chunks_sent_total", help: "InstallSnapshot chunks sent to lagging followers.", registers: [this.registry] });
  private readonly requestSeconds = new Histogram({
    name: "kvraft_kv_request_seconds", help: "Client request latency by protocol and operation.",
    labelNames: ["protocol", "op"] as const, buckets: LATENCY_BUCKETS_SECONDS, registers: [this.registry],
  });
  /** Each port's requests, for kvraft_kv_requests_total and kvraft_kv_request_seconds. */
  readonly requests = new RequestTally(this.requestSeconds);

  constructor() {
    registerProcessMetrics(this.registry, "server");
    this.labelledCounter("kvraft_kv_requests_total", "Client requests by protocol, operation and result.", ["protocol", "op", "result"], () => this.requests.totals());
  }

  /** A gauge whose value is read at scrape time. */
  gauge(name: string, help: string, read: () => number): void {
    new Gauge({ name, help, registers: [this.registry], collect() { this.set(read()); } });
  }

  /**
   * A counter whose total is kept elsewhere (the WAL's, the transport's) and read at scrape
   * time: exported as a counter, so Prometheus's rate() and promtool treat it as one.
   */
  counter(name: string, help: string, read: () => number): void {
    new Counter({ name, help, registers: [this.registry], collect() { this.reset(); this.inc(read()); } });
  }

  /** A counter with labels whose totals are read at scrape time. */
  labelledCounter(name: string, help: string, labelNames: readonly string[], read: () => { labels: Record<string, string>; value: number }[]): void {
    new Counter({
      name, help, labelNames: [...labelNames], registers: [this.registry],
      collect() {
        this.reset();
        for (const { labels, value } of read()) this.inc(labels, value);
      },
    });
  }

  /** A gauge with labels, filled at scrape time. */
  labelledGauge(name: string, help: string, labelNames: readonly string[], read: () => { labels: Record<string, string>; value: number }[]): void {
    new Gauge({
      name, help, labelNames: [...labelNames], registers: [this.registry],
      collect() {
        this.reset();
        for (const { labels, value } of read()) this.set(labels, value);
      },
    });
  }
}
