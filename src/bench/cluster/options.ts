/** What `kvraft bench cluster` was asked to do. */
export interface ClusterBenchOptions {
  /** Seconds per measured round. */
  readonly seconds: number;
  /** Rounds per workload and system; the median is reported. */
  readonly rounds: number;
  /** Unmeasured load before a workload's rounds, per system. */
  readonly warmupSeconds: number;
  /** Comma-separated workload names or prefixes with "*"; undefined: all (or the quick set). */
  readonly workloads: string | undefined;
  readonly quick: boolean;
  readonly json: boolean;
  /** Leader kills, restart and memory measurements after the workloads. */
  readonly extras: boolean;
  /** Leader kills per signal and system (the median is reported). */
  readonly failovers: number;
  /** Keys written for the memory and restart measurements. */
  readonly memoryKeys: number;
  /** When set, KVRaft's members run under `node --cpu-prof` and leave their profiles here. */
  readonly profileDir: string | undefined;
  /** Where the members' data dirs go (one disk for both systems); the OS temp dir by default. */
  readonly dir: string | undefined;
  /**
   * Both systems with TLS from one CA: KVRaft as `kvraft local` runs it (TLS on every
   * port, mutual TLS between members, tokens), etcd with client and peer TLS.
   */
  readonly tls: boolean;
  /** With a number: KVRaft alone writes this many keys at the end, for its memory per key and restart at sizes etcd's side would take too long for (issue 19: 5,000,000). */
  readonly kvraftMemoryKeys?: number | undefined;
  /** Members of each system's cluster (3 or 5: issue 19 compares five-member clusters too). */
  readonly members: number;
}

export const CLUSTER_DEFAULTS = { seconds: 2, rounds: 3, warmupSeconds: 0.5, failovers: 3, memoryKeys: 100_000, members: 3 } as const;
export const CLUSTER_QUICK = { seconds: 1, rounds: 1, warmupSeconds: 0.3, failovers: 1, memoryKeys: 10_000, members: 3 } as const;

/** KVRaft alone may be asked for more keys than the side-by-side run (etcd writes them ten times slower). */
const KVRAFT_ALONE_KEYS_MAX = 20_000_000;

/** Bounds that keep every run finite. */
const BOUNDS = {
  seconds: [0.2, 600],
  rounds: [1, 50],
  warmupSeconds: [0, 60],
  failovers: [1, 20],
  memoryKeys: [1000, 5_000_000],
  members: [3, 7],
} as const;

export function validateClusterOptions(options: ClusterBenchOptions): ClusterBenchOptions {
  for (const [field, [low, high]] of Object.entries(BOUNDS)) {
    const value = options[field as keyof typeof BOUNDS];
    if (!Number.isFinite(value) || value < low || value > high) {
      throw new RangeError(`kvraft bench cluster: --${field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} must be in [${low}, ${high}], got ${String(value)}`);
    }
  }
  if (!Number.isInteger(options.rounds) || !Number.isInteger(options.failovers) || !Number.isInteger(options.memoryKeys)) {
    throw new RangeError("kvraft bench cluster: --rounds, --failovers and --memory-keys must be whole numbers");
  }
  const alone = options.kvraftMemoryKeys;
  if (alone !== undefined && !(Number.isInteger(alone) && alone >= BOUNDS.memoryKeys[0] && alone <= KVRAFT_ALONE_KEYS_MAX)) {
    throw new RangeError(`kvraft bench cluster: --kvraft-memory-keys must be a whole number in [${BOUNDS.memoryKeys[0]}, ${KVRAFT_ALONE_KEYS_MAX}], got ${String(alone)}`);
  }
  if (!Number.isInteger(options.members) || options.members % 2 === 0) {
    throw new RangeError(`kvraft bench cluster: --members must be odd (3, 5 or 7: an even count tolerates no more failures than the odd one below it), got ${String(options.members)}`);
  }
  return options;
}
