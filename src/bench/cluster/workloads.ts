/** What one measured workload does. */
export interface Workload {
  /** "put-64", "get-256", "mix-64", "put-64KiB-16": the name in the output and in --workloads. */
  readonly name: string;
  readonly kind: "put" | "get" | "mix";
  /** Concurrent clients: each has one request outstanding at a time. */
  readonly clients: number;
  /** Bytes in each written value. */
  readonly valueBytes: number;
  /** Where the load connects: the leader (the default), or one follower that forwards every request to it. */
  readonly route?: "follower";
}

const SMALL_VALUE_BYTES = 256;
const LARGE_VALUE_BYTES = 64 * 1024;
const CONCURRENCIES = [1, 16, 64, 256] as const;
const MIX_CLIENTS = 64;
const LARGE_CLIENTS = 16;
/** Writes through a follower are compared with put-64, writes to the leader at the same concurrency. */
const FOLLOWER_CLIENTS = 64;

/** Every workload the issue asks for, in the order they run. */
export const WORKLOADS: readonly Workload[] = [
  ...CONCURRENCIES.map((clients): Workload => ({ name: `put-${clients}`, kind: "put", clients, valueBytes: SMALL_VALUE_BYTES })),
  ...CONCURRENCIES.map((clients): Workload => ({ name: `get-${clients}`, kind: "get", clients, valueBytes: SMALL_VALUE_BYTES })),
  { name: `mix-${MIX_CLIENTS}`, kind: "mix", clients: MIX_CLIENTS, valueBytes: SMALL_VALUE_BYTES },
  { name: `put-64KiB-${LARGE_CLIENTS}`, kind: "put", clients: LARGE_CLIENTS, valueBytes: LARGE_VALUE_BYTES },
  { name: `put-${FOLLOWER_CLIENTS}-follower`, kind: "put", clients: FOLLOWER_CLIENTS, valueBytes: SMALL_VALUE_BYTES, route: "follower" },
];

/** The follower workload and the leader workload it is measured against. */
export const FOLLOWER_PAIR = { follower: `put-${FOLLOWER_CLIENTS}-follower`, leader: `put-${FOLLOWER_CLIENTS}` } as const;

/** The workloads `--quick` runs when no --workloads filter is given. */
export const QUICK_WORKLOADS: readonly string[] = ["put-1", "put-64", "get-64", "mix-64", FOLLOWER_PAIR.follower];

/**
 * The workloads a comma-separated filter selects: exact names, or a prefix ending in "*"
 * ("put-*"). A name that matches nothing is an error naming the choices.
 */
export function selectWorkloads(filter: string | undefined, quick: boolean): Workload[] {
  const patterns = filter === undefined ? (quick ? QUICK_WORKLOADS : ["*"]) : filter.split(",").map((p) => p.trim()).filter((p) => p !== "");
  const selected = new Set<Workload>();
  for (const pattern of patterns) {
    const matches = WORKLOADS.filter((w) => (pattern.endsWith("*") ? w.name.startsWith(pattern.slice(0, -1)) : w.name === pattern));
    if (matches.length === 0) {
      throw new RangeError(`--workloads: "${pattern}" matches no workload; choose from ${WORKLOADS.map((w) => w.name).join(", ")} (a trailing * matches a prefix)`);
    }
    for (const match of matches) selected.add(match);
  }
  return WORKLOADS.filter((w) => selected.has(w));
}
