import { type FootprintResult, MEMORY_KEYS_MIN, type SplitGrowth } from "./footprint.js";
import type { WorkloadComparison } from "./compare.js";
import type { ExtrasReport, KvraftAlone } from "./extras.js";
import { followerWriteRatio, type GoalCheck } from "./goals.js";
import { FOLLOWER_PAIR } from "./workloads.js";
import type { SystemFigures } from "./measure.js";

/** The last line of --json. */
export interface ClusterSummary {
  readonly name: "summary";
  readonly kvraft: string;
  readonly etcd: string;
  /** Both systems with TLS (--tls); see the report's TLS line for what that means on each side. */
  readonly tls: boolean;
  /** Members of each system's cluster. */
  readonly members: number;
  readonly machine: { readonly cpus: number; readonly node: string };
  readonly seconds_per_round: number;
  readonly rounds: number;
  readonly connections_per_system: number;
  readonly disk: { readonly fsyncs_per_s: number; readonly ms_per_fsync: number };
  readonly loopback_rtt_ms: number;
  /** put-1's floor measured here: the bare relay (bare-relay.ts), when put-1 ran. */
  readonly bare_relay_p50_ms: number | null;
  readonly extras?: ExtrasReport;
  readonly kvraft_alone?: KvraftAlone;
  readonly goals: readonly GoalCheck[];
}

const TLS_LINE = "TLS on both, one CA: KVRaft as kvraft local runs it (TLS on every client port, the load with a read-write token; " +
  "mutual TLS between members); etcd with --cert-file/--client-cert-auth (the load with a client certificate) and --peer-cert-file/--peer-client-cert-auth; " +
  "the machine's floors below (fsync, loopback, bare relay) stay plain";

const n = (value: number | null, digits = 0): string =>
  value === null ? "-" : value.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** The table a person reads after a plain run. */
export function formatClusterReport(workloads: readonly WorkloadComparison[], summary: ClusterSummary): string {
  const lines = [
    `kvraft bench cluster${summary.tls ? " (TLS)" : ""}: ${summary.kvraft} vs ${summary.etcd}`,
    ...(summary.tls ? [TLS_LINE] : []),
    `${summary.members} members each on this machine (${summary.machine.cpus} CPUs, Node ${summary.machine.node}), one disk, fsync on; ` +
      `${summary.rounds} round(s) of ${summary.seconds_per_round} s per workload and system, medians; ${summary.connections_per_system} connections at most per system`,
    `disk: ${n(summary.disk.fsyncs_per_s)} bare fsyncs/s (${n(summary.disk.ms_per_fsync, 2)} ms each); loopback round trip ${n(summary.loopback_rtt_ms, 3)} ms`,
    ...(summary.bare_relay_p50_ms === null ? [] : [
      `bare relay (client -> leader -> 2 followers, a durable write on each, no Raft): p50 ${n(summary.bare_relay_p50_ms, 3)} ms`,
    ]),
    "",
    row(["workload", "system", "ops/s", "p50 ms", "p99 ms", "p99.9 ms", "srv cpu/1k", "gen cpu/1k", "ent/fsync", "ratio"]),
  ];
  for (const w of workloads) {
    lines.push(systemRow(w.name, "kvraft", w.kvraft, `${n(w.ratio, 2)}x`));
    lines.push(systemRow("", "etcd", w.etcd, ""));
    for (const error of [...w.kvraft.first_errors.map((e) => `kvraft: ${e}`), ...w.etcd.first_errors.map((e) => `etcd: ${e}`)]) lines.push(`    error ${error}`);
  }
  const kvraftThroughFollower = followerWriteRatio(workloads);
  if (kvraftThroughFollower !== undefined) {
    lines.push(`writes through a follower (${FOLLOWER_PAIR.follower}) / writes to the leader (${FOLLOWER_PAIR.leader}): ` +
      `kvraft ${n(kvraftThroughFollower, 2)}x, etcd ${n(followerWriteRatio(workloads, "etcd") ?? null, 2)}x`);
  }
  lines.push("", `srv cpu/1k: CPU seconds of the ${summary.members} servers per 1,000 ops; gen cpu/1k: the load generator's (this process); ratio: KVRaft/etcd ops/s; ` +
    `${FOLLOWER_PAIR.follower}: the load connects to one follower only, which forwards to the leader`);
  if (summary.extras !== undefined) {
    const x = summary.extras;
    lines.push(
      "",
      row(["", "SIGTERM ms", "SIGKILL ms", "restart ms", "MiB/M keys", "restarted", "learner ms"], EXTRAS_WIDTHS),
      ...(["kvraft", "etcd"] as const).map((name) =>
        row([name, n(x[name].sigterm_pause_ms), n(x[name].sigkill_pause_ms), n(x[name].restart_ms),
          n(x[name].rss_mib_per_million_keys_written), n(x[name].rss_mib_per_million_keys), n(x[name].learner_promoted_ms)], EXTRAS_WIDTHS)),
      `SIGTERM/SIGKILL: longest pause in acknowledged writes after the leader got the signal (median); restart: all members, with ${n(x.keys_written)} keys in the log, ` +
        "to the first write;\nMiB/M keys: a member's resident memory growth per million 256-byte keys, right after writing them and (restarted) after the restart " +
        "(etcd's keys sit in a memory-mapped file, resident only once read again; garbage collectors make small runs noisy: " +
        `none below ${MEMORY_KEYS_MIN} keys, and --memory-keys 1000000 for a firm figure);\n` +
        "learner ms: a new, empty member started, added as a learner and promoted as soon as the cluster allows (both refuse until it has caught up on those keys)",
      ...(x.kvraft.memory_split === null ? [] : [splitLine("kvraft", x.kvraft.memory_split)]),
    );
  }
  const alone = summary.kvraft_alone;
  if (alone !== undefined) {
    lines.push("", `kvraft alone with ${n(alone.keys_written)} keys: MiB per million keys ${n(alone.rss_mib_per_million_keys_written)} written, ` +
      `${n(alone.rss_mib_per_million_keys)} restarted; restart ${n(alone.restart_ms)} ms`,
    ...(alone.memory_split === null ? [] : [splitLine("kvraft alone", alone.memory_split)]));
  }
  if (summary.goals.length > 0) {
    lines.push("", "goals:");
    for (const goal of summary.goals) lines.push(`  ${goal.met ? "met    " : "NOT met"}  ${goal.goal}: ${goal.measured}`);
  }
  lines.push("");
  return lines.join("\n");
}

/** Where a Node system's growth per million keys is: its JavaScript heap and the buffers outside it. */
export function splitLine(name: string, split: NonNullable<FootprintResult["split"]>): string {
  const pair = (g: SplitGrowth): string => `heap ${n(g.heapMibPerMillionKeys)}, off-heap ${n(g.offHeapMibPerMillionKeys)}`;
  return `${name} MiB per million keys: written ${pair(split.written)}; restarted ${pair(split.restarted)}`;
}

function systemRow(workload: string, system: string, f: SystemFigures, ratio: string): string {
  return row([workload, system, n(f.ops_per_s), n(f.p50_ms, 2), n(f.p99_ms, 2), n(f.p999_ms, 2), n(f.server_cpu_s_per_1k, 3), n(f.loadgen_cpu_s_per_1k, 3), n(f.entries_per_fsync, 1), ratio]);
}

const WIDTHS = [17, 8, 9, 9, 9, 10, 12, 12, 11, 8];
const EXTRAS_WIDTHS = [8, 12, 12, 12, 12, 11, 12];

/** Text columns left-aligned (those whose width comes before the first number), numbers right-aligned. */
function row(cells: readonly string[], widths: readonly number[] = WIDTHS): string {
  const textColumns = widths === WIDTHS ? 2 : 1;
  return cells.map((cell, i) => (i < textColumns ? cell.padEnd(widths[i] ?? 8) : cell.padStart(widths[i] ?? 8))).join("");
}
