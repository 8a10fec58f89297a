import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { measureBareFsync } from "../wal.js";
import { compareWorkload, type WorkloadComparison } from "./compare.js";
import { findEtcd } from "./etcd-binary.js";
import { EtcdSystem } from "./etcd-system.js";
import { writeEtcdTls } from "./etcd-tls.js";
import { type ExtrasReport, footprintFigures, type KvraftAlone, runExtras, extrasSteps } from "./extras.js";
import { measureFootprint } from "./footprint.js";
import { evaluateGoals } from "./goals.js";
import { KvraftSystem } from "./kvraft-system.js";
import { loadHistograms } from "./latency.js";
import { preloadKeys, runLoad } from "./load.js";
import { loopbackRoundTripMs } from "./loopback.js";
import { measureBareRelay } from "./bare-relay.js";
import { measureRound, type RoundFigures, round } from "./measure.js";
import { type ClusterBenchOptions, validateClusterOptions } from "./options.js";
import { ProgressBar } from "./progress.js";
import { measurementGroups, roundSteps } from "./round-plan.js";
import { type ClusterSummary, formatClusterReport } from "./report.js";
import type { BenchClient, BenchSystem, SystemName } from "./system.js";
import { selectWorkloads, type Workload } from "./workloads.js";

/** Client connections per system and workload: the clients share them (as etcd's benchmark tool shares its conns). */
const CONNECTIONS_MAX = 8;
const BARE_FSYNC_SECONDS = 1;
/** About a second: enough writes for a steady median of the bare relay. */
const BARE_RELAY_WRITES = 2000;
/** Under the bench's dir, with --tls: the CA, both systems' certificates and KVRaft's tokens. */
const SECURITY_DIR = "pki";

export interface ClusterBenchReport {
  readonly workloads: readonly WorkloadComparison[];
  readonly summary: ClusterSummary;
}

/**
 * `kvraft bench cluster`: a 3-member KVRaft cluster and a 3-member etcd cluster on this
 * machine, data dirs on one disk, driven in turn by the same load generator (this
 * process); for each workload the rounds alternate which system goes first, so a
 * drifting machine favours neither. Prints a table, or with --json one line per
 * workload and a summary line.
 */
export async function runClusterBench(input: ClusterBenchOptions): Promise<ClusterBenchReport> {
  const options = validateClusterOptions(input);
  const workloads = selectWorkloads(options.workloads, options.quick);
  await loadHistograms();
  const progress = new ProgressBar(3 + workloads.length * 2 * (options.rounds + 1) + (options.extras ? extrasSteps(options) : 0) + (options.kvraftMemoryKeys === undefined ? 0 : 1));
  const etcdBinary = await findEtcd((line) => progress.note(line));
  const base = options.dir ?? tmpdir();
  await mkdir(base, { recursive: true });
  const root = await mkdtemp(join(base, "kvraft-bench-cluster-"));
  const systems: BenchSystem[] = [];
  try {
    progress.show("bare fsync rate of the disk");
    const disk = await measureBareFsync(root, BARE_FSYNC_SECONDS);
    const loopbackMs = await loopbackRoundTripMs();
    const relay = workloads.some((w) => w.name === "put-1") ? await measureBareRelay(root, BARE_RELAY_WRITES) : undefined;
    progress.step("starting KVRaft");
    const kvraft = await KvraftSystem.create(root, options.members, options.profileDir === undefined ? undefined : resolve(options.profileDir),
      options.tls ? join(root, SECURITY_DIR) : undefined);
    systems.push(kvraft);
    await kvraft.start();
    progress.step(`starting ${etcdBinary.source === "go-module" ? "etcd" : "Debian's etcd (fallback)"}`);
    // With --tls, etcd's certificates come from the CA KVRaft's side made: one CA for both.
    const etcdTls = kvraft.plan.security === undefined ? undefined : await writeEtcdTls(kvraft.plan.security, options.members);
    const etcd = await EtcdSystem.create(root, etcdBinary, options.members, etcdTls);
    systems.push(etcd);
    await etcd.start();
    progress.step("writing the keys the gets read");
    for (const system of systems) await withPool(system, CONNECTIONS_MAX, preloadKeys);
    const measured: WorkloadComparison[] = [];
    for (const group of measurementGroups(workloads)) measured.push(...await runWorkloadGroup(group, [kvraft, etcd], options, progress));
    // The report lists the workloads in their standard order, however they were grouped.
    const comparisons = workloads.flatMap((w) => measured.filter((c) => c.name === w.name));
    const extras: ExtrasReport | undefined = options.extras ? await runExtras({ kvraft, etcd }, options, progress) : undefined;
    let kvraftAlone: KvraftAlone | undefined;
    if (options.kvraftMemoryKeys !== undefined) {
      await etcd.stop();
      progress.step(`kvraft alone: writing ${options.kvraftMemoryKeys} keys, then restarting every member`);
      kvraftAlone = { keys_written: options.kvraftMemoryKeys, ...footprintFigures(await measureFootprint(kvraft, options.kvraftMemoryKeys)) };
    }
    progress.finish();
    const summary: ClusterSummary = {
      name: "summary",
      kvraft: kvraft.label,
      etcd: etcd.label,
      tls: options.tls,
      members: options.members,
      machine: { cpus: cpus().length, node: process.version },
      seconds_per_round: options.seconds,
      rounds: options.rounds,
      connections_per_system: CONNECTIONS_MAX,
      disk: { fsyncs_per_s: round(disk.fsyncsPerSecond, 0), ms_per_fsync: round(disk.microsecondsPerFsync / 1000, 3) },
      loopback_rtt_ms: round(loopbackMs, 3),
      bare_relay_p50_ms: relay === undefined ? null : round(relay.p50Ms, 3),
      ...(extras === undefined ? {} : { extras }),
      ...(kvraftAlone === undefined ? {} : { kvraft_alone: kvraftAlone }),
      goals: evaluateGoals(comparisons, { fsyncMs: disk.microsecondsPerFsync / 1000, loopbackMs, bareRelayMs: relay?.p50Ms }, extras, { tls: options.tls, members: options.members }),
    };
    const report = { workloads: comparisons, summary };
    printReport(report, options.json);
    return report;
  } finally {
    progress.finish();
    await Promise.all(systems.map((s) => s.stop()));
    await rm(root, { recursive: true, force: true });
  }
}

/**
 * Measures a group of workloads (round-plan.ts) on every system: each pair's pool is
 * opened and warmed up, then the rounds run in the plan's order.
 */
async function runWorkloadGroup(group: readonly Workload[], systems: readonly BenchSystem[], options: ClusterBenchOptions, progress: ProgressBar): Promise<WorkloadComparison[]> {
  const rounds = new Map(group.map((workload): [Workload, Record<SystemName, RoundFigures[]>] => [workload, { kvraft: [], etcd: [] }]));
  const pools = new Map<BenchSystem, Map<Workload, BenchClient[]>>(systems.map((system) => [system, new Map()]));
  const poolOf = (system: BenchSystem, workload: Workload): BenchClient[] => pools.get(system)?.get(workload) as BenchClient[];
  try {
    for (const workload of group) {
      for (const system of systems) {
        pools.get(system)?.set(workload, await openPool(system, Math.min(workload.clients, CONNECTIONS_MAX), workload.route));
        progress.step(`${workload.name}: warming up ${system.name}`);
        if (options.warmupSeconds > 0) await runLoad(workload, poolOf(system, workload), options.warmupSeconds, 0);
      }
    }
    for (let r = 0; r < options.rounds; r++) {
      for (const { system, workload } of roundSteps(group, systems, r)) {
        progress.step(`${workload.name}: ${system.name} round ${r + 1}/${options.rounds}`);
        rounds.get(workload)?.[system.name].push(await measureRound(system, poolOf(system, workload), workload, options.seconds, r + 1));
      }
    }
  } finally {
    await Promise.all([...pools.values()].flatMap((byWorkload) => [...byWorkload.values()].flat()).map((c) => c.close()));
  }
  return group.map((workload) => compareWorkload(workload, rounds.get(workload) as Record<SystemName, RoundFigures[]>));
}

async function openPool(system: BenchSystem, connections: number, route?: Workload["route"]): Promise<BenchClient[]> {
  const pool: BenchClient[] = [];
  for (let i = 0; i < connections; i++) pool.push(await (route === "follower" ? system.connectThroughFollower() : system.connect()));
  return pool;
}

async function withPool<T>(system: BenchSystem, connections: number, use: (pool: readonly BenchClient[]) => Promise<T>): Promise<T> {
  const pool = await openPool(system, connections);
  try {
    return await use(pool);
  } finally {
    await Promise.all(pool.map((c) => c.close()));
  }
}

function printReport(report: ClusterBenchReport, json: boolean): void {
  if (json) {
    for (const workload of report.workloads) process.stdout.write(`${JSON.stringify(workload)}\n`);
    process.stdout.write(`${JSON.stringify(report.summary)}\n`);
    return;
  }
  process.stdout.write(formatClusterReport(report.workloads, report.summary));
}
