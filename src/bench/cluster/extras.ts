import { measureWritePause } from "./failover.js";
import { type FootprintResult, measureFootprint } from "./footprint.js";
import { median } from "./measure.js";
import type { ClusterBenchOptions } from "./options.js";
import type { ProgressBar } from "./progress.js";
import type { BenchSystem, SystemName } from "./system.js";

export interface SystemExtras extends FootprintFigures {
  /** Median longest pause between acknowledged writes after the leader got SIGTERM, ms. */
  readonly sigterm_pause_ms: number | null;
  readonly sigkill_pause_ms: number | null;
  readonly sigterm_samples_ms: readonly number[];
  readonly sigkill_samples_ms: readonly number[];
  /** A new member added as a learner to the cluster holding the memory run's keys: from its start to its promotion; null with --tls. */
  readonly learner_promoted_ms: number | null;
}

/** The memory and restart figures of one footprint run, as the JSON names them. */
export interface FootprintFigures {
  /** A member's resident memory growth per million keys right after writing them, MiB. */
  readonly rss_mib_per_million_keys_written: number | null;
  /** The same after a restart with the keys on disk. */
  readonly rss_mib_per_million_keys: number | null;
  readonly restart_ms: number;
  /** The heap and off-heap part of the growth per million keys (KVRaft only: etcd is no Node process). */
  readonly memory_split: FootprintResult["split"];
}

export function footprintFigures(footprint: FootprintResult): FootprintFigures {
  return {
    rss_mib_per_million_keys_written: footprint.rssMibPerMillionKeysWritten,
    rss_mib_per_million_keys: footprint.rssMibPerMillionKeys,
    restart_ms: footprint.restartMs,
    memory_split: footprint.split,
  };
}

/** --kvraft-memory-keys: KVRaft alone with more keys than the side-by-side run. */
export interface KvraftAlone extends FootprintFigures {
  readonly keys_written: number;
}

export interface ExtrasReport {
  readonly keys_written: number;
  readonly kvraft: SystemExtras;
  readonly etcd: SystemExtras;
}

const SIGNALS = ["SIGTERM", "SIGKILL"] as const;

export function extrasSteps(options: ClusterBenchOptions): number {
  return 2 * (SIGNALS.length * options.failovers + 2);
}

/**
 * Leader failovers (each signal, `failovers` times per system), then memory and restart
 * with a large log, then a new member catching up on it (last: it leaves the cluster a
 * member larger).
 */
export async function runExtras(systems: Readonly<Record<SystemName, BenchSystem>>, options: ClusterBenchOptions, progress: ProgressBar): Promise<ExtrasReport> {
  const one = async (system: BenchSystem): Promise<SystemExtras> => {
    const samples: Record<(typeof SIGNALS)[number], number[]> = { SIGTERM: [], SIGKILL: [] };
    for (const signal of SIGNALS) {
      for (let i = 0; i < options.failovers; i++) {
        progress.step(`${system.name}: ${signal} to the leader ${i + 1}/${options.failovers}`);
        samples[signal].push(await measureWritePause(system, signal));
      }
    }
    progress.step(`${system.name}: writing ${options.memoryKeys} keys, then restarting every member`);
    const footprint = await measureFootprint(system, options.memoryKeys);
    progress.step(`${system.name}: a new member added as a learner with ${options.memoryKeys} keys to catch up, then promoted`);
    const learnerMs = options.tls ? null : await system.addLearner();
    return {
      sigterm_pause_ms: samples.SIGTERM.length === 0 ? null : median(samples.SIGTERM),
      sigkill_pause_ms: samples.SIGKILL.length === 0 ? null : median(samples.SIGKILL),
      sigterm_samples_ms: samples.SIGTERM,
      sigkill_samples_ms: samples.SIGKILL,
      ...footprintFigures(footprint),
      learner_promoted_ms: learnerMs,
    };
  };
  const kvraft = await one(systems.kvraft);
  const etcd = await one(systems.etcd);
  return { keys_written: options.memoryKeys, kvraft, etcd };
}
