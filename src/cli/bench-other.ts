import { CLUSTER_DEFAULTS, CLUSTER_QUICK } from "../bench/cluster/options.js";
import { runWalBench } from "../bench/wal.js";

/** The flags of `kvraft bench`, as commander parses them. */
export interface BenchFlags {
  readonly json?: boolean;
  readonly seconds?: number;
  readonly rounds?: number;
  readonly warmupSeconds?: number;
  readonly workloads?: string;
  readonly quick?: boolean;
  /** False with --no-extras. */
  readonly extras: boolean;
  readonly failovers?: number;
  readonly memoryKeys?: number;
  readonly dir?: string;
  readonly profileDir?: string;
  readonly tls?: boolean;
  readonly members?: number;
  readonly kvraftMemoryKeys?: number;
}

/** Benchmarks beyond the core: the disk log, and the side-by-side comparison with etcd. */
export async function runOtherBench(kind: string, flags: BenchFlags): Promise<void> {
  if (kind === "wal") {
    await runWalBench({ seconds: flags.seconds ?? 1, json: flags.json === true, ...(flags.dir === undefined ? {} : { dir: flags.dir }) });
    return;
  }
  const { runClusterBench } = await import("../bench/cluster/run.js");
  const quick = flags.quick === true;
  const defaults = quick ? CLUSTER_QUICK : CLUSTER_DEFAULTS;
  try {
    await runClusterBench({
      seconds: flags.seconds ?? defaults.seconds,
      rounds: flags.rounds ?? defaults.rounds,
      warmupSeconds: flags.warmupSeconds ?? defaults.warmupSeconds,
      workloads: flags.workloads,
      quick,
      json: flags.json === true,
      extras: flags.extras,
      failovers: flags.failovers ?? defaults.failovers,
      memoryKeys: flags.memoryKeys ?? defaults.memoryKeys,
      dir: flags.dir,
      profileDir: flags.profileDir,
      tls: flags.tls === true,
      members: flags.members ?? defaults.members,
      kvraftMemoryKeys: flags.kvraftMemoryKeys,
    });
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exitCode = 2;
  }
}
