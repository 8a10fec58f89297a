import type { BenchClient, BenchSystem } from "./system.js";
import { pollUntil } from "./system.js";

/** One write is sent this often, whether or not earlier ones were answered. */
const SEND_INTERVAL_MS = 5;
/** Writes outstanding at most; sending pauses beyond (a cluster with no leader answers nothing). */
const OUTSTANDING_MAX = 512;
/** Writes acknowledged before the leader is signalled: the writer is in its stride. */
const ACKS_BEFORE_KILL = 20;
/** After the killed leader exited, acks must flow this long for the pause to be over. */
const SETTLE_MS = 500;
/** An ack at most this old counts as "flowing". */
const FLOWING_MS = 100;
const RESUME_TIMEOUT_MS = 30_000;
const LEADER_TIMEOUT_MS = 30_000;

/**
 * Kills (or stops) the leader while a writer sends a write every 5 ms through a client
 * that follows leader changes, and returns the longest pause between acknowledged
 * writes from the signal on: what a user sees of the failover. The member is started
 * again with its data afterwards, and the cluster takes writes again before this returns.
 */
export async function measureWritePause(system: BenchSystem, signal: "SIGTERM" | "SIGKILL"): Promise<number> {
  const leader = await pollUntil(`a ${system.name} leader`, () => system.leaderIndex(), LEADER_TIMEOUT_MS);
  const member = system.members[leader];
  if (member === undefined) throw new Error(`${system.name}: leader index ${leader} names no member`);
  const client: BenchClient = await system.connectAny();
  const acks: number[] = [];
  let outstanding = 0;
  let sent = 0;
  const value = new Uint8Array(256);
  const timer = setInterval(() => {
    if (outstanding >= OUTSTANDING_MAX) return;
    outstanding++;
    client.put(`bench/failover-${sent++ % 1000}`, value).then(
      () => acks.push(performance.now()),
      () => undefined,
    ).finally(() => outstanding--);
  }, SEND_INTERVAL_MS);
  try {
    await pollUntil(`${system.name} writes before the kill`, () => Promise.resolve(acks.length >= ACKS_BEFORE_KILL ? true : undefined), LEADER_TIMEOUT_MS);
    const signalledAt = performance.now();
    member.signal(signal);
    await member.waitForExit();
    const exitedAt = performance.now();
    await pollUntil(`${system.name} writes to resume after ${signal} of its leader`, () => {
      const now = performance.now();
      const last = acks[acks.length - 1] ?? 0;
      return Promise.resolve(now - exitedAt >= SETTLE_MS && now - last <= FLOWING_MS && last > exitedAt ? true : undefined);
    }, RESUME_TIMEOUT_MS, 20);
    return longestPause(acks, signalledAt);
  } finally {
    clearInterval(timer);
    // Writes still out are not awaited: the client is closed under them.
    await client.close();
    await system.restart(leader);
  }
}

/** The longest gap between acknowledgements from `from` on (the first gap starts at `from`). */
export function longestPause(acks: readonly number[], from: number): number {
  let previous = from;
  let longest = 0;
  for (const at of [...acks].sort((a, b) => a - b)) {
    if (at < from) continue;
    longest = Math.max(longest, at - previous);
    previous = at;
  }
  return Math.round(longest);
}
