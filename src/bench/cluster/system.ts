import type { MemberProcess } from "./member-process.js";

export type SystemName = "kvraft" | "etcd";

/** One connection's worth of client: what the load generator drives. */
export interface BenchClient {
  put(key: string, value: Uint8Array): Promise<void>;
  /** A linearizable read (both systems' default). */
  get(key: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * A 3-member cluster under test, KVRaft's or etcd's, started on this machine with each
 * member's data dir on the same disk and fsync on. The benchmark drives both through
 * this one interface, one after the other.
 */
export interface BenchSystem {
  readonly name: SystemName;
  /** What ran, for the output: "KVRaft 0.1.0", "etcd 3.6.16 (built from its Go module)". */
  readonly label: string;
  readonly members: readonly MemberProcess[];
  /** Starts every member and waits until one leads and a write succeeds. */
  start(): Promise<void>;
  /** Index in `members` of the member that leads now, if one does. */
  leaderIndex(): Promise<number | undefined>;
  /** A client with its own connection to the cluster (to its leader). */
  connect(): Promise<BenchClient>;
  /** A client that finds whichever member leads, across leader changes. */
  connectAny(): Promise<BenchClient>;
  /** A client connected to one follower only, which forwards its requests to the leader. */
  connectThroughFollower(): Promise<BenchClient>;
  /**
   * Starts a stopped member again with its data and waits until every member follows
   * one leader and has caught up: the next kill must not find a member still booting.
   */
  restart(index: number): Promise<void>;
  /**
   * Starts a new, empty member, adds it as a learner and promotes it as soon as the
   * cluster accepts the promotion (both systems refuse one until the learner has caught
   * up); returns the milliseconds from its start to the promotion. The member is then
   * removed and stopped, so the cluster keeps its shape for what runs after.
   */
  addLearner(): Promise<number>;
  /** The members' mean JavaScript heap and off-heap (buffers) use, when the system reports them (KVRaft's /metrics). */
  memorySplit?(): Promise<MemorySplit | undefined>;
  /** Stops every member; the data dirs are removed by the caller. */
  stop(): Promise<void>;
  /**
   * Stops every member and empties its data dir: the next start() begins a new cluster
   * on the same ports, holding nothing of what ran before.
   */
  clear(): Promise<void>;
}

/** Where a Node member's memory is: its JavaScript heap, and the buffers outside it. */
export interface MemorySplit {
  readonly heapUsedBytes: number;
  /** External memory: ArrayBuffers and Buffers (prom-client's nodejs_external_memory_bytes). */
  readonly offHeapBytes: number;
}

/** A learner added to a cluster holding the memory run's keys is promoted within this. */
export const LEARNER_PROMOTED_TIMEOUT_MS = 300_000;
/** How often the bench asks for the promotion while the learner catches up. */
export const PROMOTE_RETRY_MS = 100;

/** Entries a member may trail the most advanced one by and count as caught up. */
export const CAUGHT_UP_LAG_ENTRIES = 100;
/** A restarted member boots (Node's start-up included on a loaded machine) and catches up within this. */
export const CATCH_UP_TIMEOUT_MS = 60_000;

/** Members' (leader, commit, applied) as each reports it: all answered, one leader, applied near the highest commit. */
export function caughtUp(views: readonly ({ leader: string; commit: number; applied: number } | undefined)[]): boolean {
  if (views.some((v) => v === undefined)) return false;
  const present = views as { leader: string; commit: number; applied: number }[];
  const leader = present[0]?.leader;
  if (leader === undefined || leader === "0" || present.some((v) => v.leader !== leader)) return false;
  const commit = Math.max(...present.map((v) => v.commit));
  return present.every((v) => commit - v.applied <= CAUGHT_UP_LAG_ENTRIES);
}

/** The pids of the members running now. */
export function serverPids(system: BenchSystem): number[] {
  return system.members.flatMap((m) => (m.pid === undefined ? [] : [m.pid]));
}

/** Polls `check` every `pollMs` until it gives a value or `timeoutMs` passes (then throws, saying what it waited for). */
export async function pollUntil<T>(what: string, check: () => Promise<T | undefined>, timeoutMs: number, pollMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError === undefined ? "" : ` (last error: ${(lastError as Error).message})`}`);
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
