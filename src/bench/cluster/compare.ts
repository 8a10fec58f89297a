import { medianFigures, type RoundFigures, type SystemFigures } from "./measure.js";
import type { SystemName } from "./system.js";
import type { Workload } from "./workloads.js";

/** One workload's line of --json: both systems, measured in the same run. */
export interface WorkloadComparison {
  readonly name: string;
  readonly kind: Workload["kind"];
  readonly clients: number;
  readonly value_bytes: number;
  readonly kvraft_ops: number;
  readonly etcd_ops: number;
  /** KVRaft's throughput / etcd's. */
  readonly ratio: number;
  readonly latencies: { readonly kvraft: LatencyFigures; readonly etcd: LatencyFigures };
  readonly kvraft: SystemFigures;
  readonly etcd: SystemFigures;
}

interface LatencyFigures {
  readonly p50_ms: number;
  readonly p99_ms: number;
  readonly p999_ms: number;
}

export function compareWorkload(workload: Workload, rounds: Readonly<Record<SystemName, readonly RoundFigures[]>>): WorkloadComparison {
  const kvraft = medianFigures(rounds.kvraft);
  const etcd = medianFigures(rounds.etcd);
  const latency = (f: SystemFigures): LatencyFigures => ({ p50_ms: f.p50_ms, p99_ms: f.p99_ms, p999_ms: f.p999_ms });
  return {
    name: workload.name,
    kind: workload.kind,
    clients: workload.clients,
    value_bytes: workload.valueBytes,
    kvraft_ops: kvraft.ops_per_s,
    etcd_ops: etcd.ops_per_s,
    ratio: etcd.ops_per_s === 0 ? 0 : Math.round((kvraft.ops_per_s / etcd.ops_per_s) * 100) / 100,
    latencies: { kvraft: latency(kvraft), etcd: latency(etcd) },
    kvraft,
    etcd,
  };
}
