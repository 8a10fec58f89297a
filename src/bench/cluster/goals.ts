import type { WorkloadComparison } from "./compare.js";
import type { ExtrasReport } from "./extras.js";
import { FOLLOWER_PAIR } from "./workloads.js";

export interface GoalCheck {
  readonly goal: string;
  readonly measured: string;
  readonly met: boolean;
}

/** KVRaft's election timeout at its defaults (--election-ms): SIGKILL of a leader must heal within two. */
const ELECTION_TIMEOUT_MS = 1000;
const THROUGHPUT_RATIO_MIN = 2;
/**
 * Issue 15: with TLS on both sides, put and linearizable get at 64 clients stay at least
 * this many times etcd's (TLS must not undo the performance work).
 */
const TLS_THROUGHPUT_RATIO_MIN = 3;
const TLS_FLOOR_WORKLOADS: ReadonlySet<string> = new Set(["put-64", "get-64"]);
const SERVER_CPU_RATIO_MAX = 0.5;
const SINGLE_CLIENT_LATENCY_FACTOR = 1.5;
const SIGTERM_PAUSE_MAX_MS = 300;
/** Issue 17: writes through a follower (forwarded over the binary protocol) keep this much of writes to the leader. */
const FOLLOWER_WRITE_RATIO_MIN = 0.8;

/** The goals, for the workloads and extras that ran in this run. */
/** The machine's floors measured in the same run; the bare relay only when put-1 ran. */
export interface MeasuredFloor {
  readonly fsyncMs: number;
  readonly loopbackMs: number;
  readonly bareRelayMs?: number | undefined;
}

/** `run.tls`: both systems ran with TLS; the put-64 and get-64 floors are then issue 15's. */
export function evaluateGoals(comparisons: readonly WorkloadComparison[], floor: MeasuredFloor, extras: ExtrasReport | undefined, run: { tls: boolean } = { tls: false }): GoalCheck[] {
  const checks: GoalCheck[] = [];
  const byName = new Map(comparisons.map((c) => [c.name, c]));
  const throughput = (c: WorkloadComparison): GoalCheck => {
    const tlsFloor = run.tls && TLS_FLOOR_WORKLOADS.has(c.name);
    const min = tlsFloor ? TLS_THROUGHPUT_RATIO_MIN : THROUGHPUT_RATIO_MIN;
    return { goal: `${c.name} throughput >= ${min}x etcd${tlsFloor ? ", both with TLS" : ""}`, measured: `${c.ratio}x`, met: c.ratio >= min };
  };
  for (const name of ["put-64", "put-256"]) {
    const c = byName.get(name);
    if (c === undefined) continue;
    checks.push(throughput(c));
    checks.push({ goal: `${name} p99 <= etcd's`, measured: `${c.kvraft.p99_ms} ms vs ${c.etcd.p99_ms} ms`, met: c.kvraft.p99_ms <= c.etcd.p99_ms });
    const k = c.kvraft.server_cpu_s_per_1k;
    const e = c.etcd.server_cpu_s_per_1k;
    if (k !== null && e !== null && e > 0) {
      const ratio = Math.round((k / e) * 100) / 100;
      checks.push({ goal: `${name} server CPU per put <= ${SERVER_CPU_RATIO_MAX}x etcd's`, measured: `${ratio}x (${k} vs ${e} s/1k)`, met: ratio <= SERVER_CPU_RATIO_MAX });
    }
  }
  for (const name of ["get-64", "get-256"]) {
    const c = byName.get(name);
    if (c !== undefined) checks.push(throughput(c));
  }
  const follower = byName.get(FOLLOWER_PAIR.follower);
  const toLeader = byName.get(FOLLOWER_PAIR.leader);
  const followerRatio = followerWriteRatio(comparisons);
  if (follower !== undefined && toLeader !== undefined && followerRatio !== undefined) {
    checks.push({
      goal: `${FOLLOWER_PAIR.follower} throughput >= ${FOLLOWER_WRITE_RATIO_MIN}x ${FOLLOWER_PAIR.leader}'s (writes through a follower vs to the leader)`,
      measured: `${followerRatio}x (${follower.kvraft_ops} vs ${toLeader.kvraft_ops} ops/s)`,
      met: followerRatio >= FOLLOWER_WRITE_RATIO_MIN,
    });
  }
  const single = byName.get("put-1");
  if (single !== undefined) {
    const floorMs = floor.fsyncMs + 2 * floor.loopbackMs;
    const limit = Math.round(SINGLE_CLIENT_LATENCY_FACTOR * floorMs * 1000) / 1000;
    checks.push({
      goal: `put-1 p50 <= ${SINGLE_CLIENT_LATENCY_FACTOR}x (one fsync + two loopback round trips) = ${limit} ms`,
      measured: `${single.kvraft.p50_ms} ms` +
        (floor.bareRelayMs === undefined ? "" : ` (the bare relay of the same messages and durable writes: ${Math.round(floor.bareRelayMs * 1000) / 1000} ms)`),
      met: single.kvraft.p50_ms <= limit,
    });
  }
  if (extras !== undefined) {
    const term = extras.kvraft.sigterm_pause_ms;
    const kill = extras.kvraft.sigkill_pause_ms;
    if (term !== null) checks.push({ goal: `writes resume <= ${SIGTERM_PAUSE_MAX_MS} ms after SIGTERM of the leader`, measured: `${term} ms`, met: term <= SIGTERM_PAUSE_MAX_MS });
    if (kill !== null) checks.push({ goal: `writes resume <= 2 election timeouts (${2 * ELECTION_TIMEOUT_MS} ms) after SIGKILL of the leader`, measured: `${kill} ms`, met: kill <= 2 * ELECTION_TIMEOUT_MS });
  }
  return checks;
}

/** KVRaft's writes through a follower / its writes to the leader, when both workloads ran. */
export function followerWriteRatio(comparisons: readonly WorkloadComparison[], system: "kvraft" | "etcd" = "kvraft"): number | undefined {
  const follower = comparisons.find((c) => c.name === FOLLOWER_PAIR.follower);
  const toLeader = comparisons.find((c) => c.name === FOLLOWER_PAIR.leader);
  if (follower === undefined || toLeader === undefined) return undefined;
  const leaderOps = system === "kvraft" ? toLeader.kvraft_ops : toLeader.etcd_ops;
  const followerOps = system === "kvraft" ? follower.kvraft_ops : follower.etcd_ops;
  return leaderOps === 0 ? 0 : Math.round((followerOps / leaderOps) * 100) / 100;
}
