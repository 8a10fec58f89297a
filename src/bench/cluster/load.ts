import { randomBytes } from "node:crypto";
import { LatencyRecorder, type LatencySummary } from "./latency.js";
import type { BenchClient } from "./system.js";
import type { Workload } from "./workloads.js";

/** Keys the workloads touch: the gets read keys the preload wrote. */
export const KEY_COUNT = 1000;
/** Errors kept verbatim per measurement; beyond that only counted. */
const ERRORS_KEPT = 3;

export function benchKey(index: number): string {
  return `bench/key-${String(index).padStart(6, "0")}`;
}

export interface LoadResult {
  readonly ops: number;
  readonly errors: number;
  readonly firstErrors: readonly string[];
  readonly seconds: number;
  readonly latency: LatencySummary;
}

/**
 * Runs `workload` for `seconds`: `workload.clients` loops, each with one request
 * outstanding, spread over the connections in `pool`. A failed request is counted and
 * the loop goes on (its latency is not recorded).
 */
export async function runLoad(workload: Workload, pool: readonly BenchClient[], seconds: number, seed: number): Promise<LoadResult> {
  if (pool.length === 0) throw new Error("runLoad: no client connections");
  const value = new Uint8Array(randomBytes(workload.valueBytes));
  const latencies = new LatencyRecorder();
  let ops = 0;
  let errors = 0;
  const firstErrors: string[] = [];
  let stop = false;
  const loop = async (worker: number): Promise<void> => {
    const client = pool[worker % pool.length] as BenchClient;
    // A cheap, per-worker sequence of keys and operations (no shared random state).
    let state = (seed * 7919 + worker * 104_729) >>> 0;
    while (!stop) {
      state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0;
      const key = benchKey(state % KEY_COUNT);
      const isPut = workload.kind === "put" || (workload.kind === "mix" && (state & 0x10000) !== 0);
      const started = performance.now();
      try {
        await (isPut ? client.put(key, value) : client.get(key));
        if (stop) break;
        latencies.record(performance.now() - started);
        ops++;
      } catch (error) {
        errors++;
        if (firstErrors.length < ERRORS_KEPT) firstErrors.push((error as Error).message);
      }
    }
  };
  const started = performance.now();
  // Throughput counts what completed inside the window: requests still out when it ends are not waited for in the figure.
  let stoppedAt = started + seconds * 1000;
  const timer = setTimeout(() => {
    stop = true;
    stoppedAt = performance.now();
  }, seconds * 1000);
  try {
    await Promise.all(Array.from({ length: workload.clients }, (_, worker) => loop(worker)));
  } finally {
    clearTimeout(timer);
  }
  const elapsed = (stoppedAt - started) / 1000;
  const latency = latencies.summary();
  latencies.destroy();
  return { ops, errors, firstErrors, seconds: elapsed, latency };
}

/** Writes every key once (256-byte values), so that the gets find them. */
export async function preloadKeys(pool: readonly BenchClient[]): Promise<void> {
  const value = new Uint8Array(randomBytes(256));
  let next = 0;
  const loop = async (client: BenchClient): Promise<void> => {
    while (next < KEY_COUNT) await client.put(benchKey(next++), value);
  };
  await Promise.all(pool.flatMap((client) => [loop(client), loop(client), loop(client), loop(client)]));
}
