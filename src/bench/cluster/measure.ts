import { runLoad } from "./load.js";
import type { LatencySummary } from "./latency.js";
import { totalCpuSeconds } from "./proc-stats.js";
import { type BenchClient, type BenchSystem, serverPids } from "./system.js";
import type { Workload } from "./workloads.js";

/** One system's figures for one workload: the median of its rounds. */
export interface SystemFigures {
  readonly ops_per_s: number;
  readonly p50_ms: number;
  readonly p99_ms: number;
  readonly p999_ms: number;
  /** CPU seconds of the three server processes per 1,000 operations. */
  readonly server_cpu_s_per_1k: number | null;
  /** CPU seconds of this process (the load generator and its client library) per 1,000 operations. */
  readonly loadgen_cpu_s_per_1k: number;
  /** Raft entries per leader fsync (KVRaft only: etcd does not expose it per member). */
  readonly entries_per_fsync: number | null;
  readonly errors: number;
  readonly first_errors: readonly string[];
  readonly rounds: number;
}

export interface RoundFigures {
  readonly opsPerSecond: number;
  readonly latency: LatencySummary;
  readonly serverCpuPer1k: number | undefined;
  readonly loadgenCpuPer1k: number;
  readonly entriesPerFsync: number | undefined;
  readonly errors: number;
  readonly firstErrors: readonly string[];
}

/** Counters read around a round to work out entries per fsync. */
export interface WalCounters {
  readonly flushes: number;
  readonly commitIndex: number;
}

/** What a system may offer beyond BenchSystem for the figures (KVRaft's WAL counters). */
export interface WalCounterSource {
  walCounters(): Promise<WalCounters | undefined>;
}

function hasWalCounters(system: BenchSystem): system is BenchSystem & WalCounterSource {
  return typeof (system as Partial<WalCounterSource>).walCounters === "function";
}

/** One round of `workload` against `system`, with the servers' and the load generator's CPU around it. */
export async function measureRound(system: BenchSystem, pool: readonly BenchClient[], workload: Workload, seconds: number, seed: number): Promise<RoundFigures> {
  const pids = serverPids(system);
  const walBefore = hasWalCounters(system) ? await system.walCounters() : undefined;
  const serverBefore = await totalCpuSeconds(pids);
  const loadBefore = process.cpuUsage();
  const load = await runLoad(workload, pool, seconds, seed);
  const loadCpu = process.cpuUsage(loadBefore);
  const serverAfter = await totalCpuSeconds(pids);
  const walAfter = hasWalCounters(system) ? await system.walCounters() : undefined;
  const thousands = Math.max(load.ops, 1) / 1000;
  const entriesPerFsync = walBefore !== undefined && walAfter !== undefined && walAfter.flushes > walBefore.flushes
    ? (walAfter.commitIndex - walBefore.commitIndex) / (walAfter.flushes - walBefore.flushes)
    : undefined;
  return {
    opsPerSecond: load.ops / load.seconds,
    latency: load.latency,
    serverCpuPer1k: serverBefore === undefined || serverAfter === undefined ? undefined : (serverAfter - serverBefore) / thousands,
    loadgenCpuPer1k: (loadCpu.user + loadCpu.system) / 1e6 / thousands,
    entriesPerFsync: workload.kind === "get" ? undefined : entriesPerFsync,
    errors: load.errors,
    firstErrors: load.firstErrors,
  };
}

/** The median of each figure over the rounds (each figure on its own). */
export function medianFigures(rounds: readonly RoundFigures[]): SystemFigures {
  if (rounds.length === 0) throw new Error("medianFigures: no rounds");
  const pick = (get: (round: RoundFigures) => number | undefined): number | null => {
    const values = rounds.map(get).filter((v): v is number => v !== undefined);
    return values.length === 0 ? null : median(values);
  };
  return {
    ops_per_s: round(pick((r) => r.opsPerSecond) ?? 0, 0),
    p50_ms: round(pick((r) => r.latency.p50_ms) ?? 0, 3),
    p99_ms: round(pick((r) => r.latency.p99_ms) ?? 0, 3),
    p999_ms: round(pick((r) => r.latency.p999_ms) ?? 0, 3),
    server_cpu_s_per_1k: nullableRound(pick((r) => r.serverCpuPer1k), 3),
    loadgen_cpu_s_per_1k: round(pick((r) => r.loadgenCpuPer1k) ?? 0, 3),
    entries_per_fsync: nullableRound(pick((r) => r.entriesPerFsync), 1),
    errors: rounds.reduce((sum, r) => sum + r.errors, 0),
    first_errors: rounds.flatMap((r) => r.firstErrors).slice(0, 3),
    rounds: rounds.length,
  };
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

function nullableRound(value: number | null, digits: number): number | null {
  return value === null ? null : round(value, digits);
}
