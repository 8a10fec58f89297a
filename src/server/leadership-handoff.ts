import type { Logger } from "pino";
import { mostUpToDateFollower } from "./http/admin-routes.js";
import type { Replica } from "./replica.js";
import type { ReplicaEvents } from "./replica-events.js";

/**
 * A transfer target silent for this many heartbeats is taken to be gone: waiting on it
 * would only delay the exit (`kvraft local` stops the followers before the leader, and
 * the leader's transfer used to wait out most of --shutdown-transfer-ms on a dead one).
 */
const TRANSFER_TARGET_SILENT_HEARTBEATS_MAX = 3;

export interface HandoffLimits {
  /** --shutdown-transfer-ms: the longest the exit waits for the transfer (0: no transfer). */
  readonly waitMs: number;
  readonly heartbeatTicks: number;
  readonly tickMs: number;
}

/**
 * SIGTERM on a leader: hand leadership to the most up-to-date follower first. The end of
 * the transfer is heard as the Replica's role-changed event. The target's silence shows
 * only as time passing with no message from it, so that alone is looked at, once a
 * heartbeat interval.
 */
export async function transferLeadershipAway(replica: Replica, events: ReplicaEvents, limits: HandoffLimits, log: Logger): Promise<void> {
  if (!replica.isLeader() || limits.waitMs === 0) return;
  const target = mostUpToDateFollower(replica);
  if (target === undefined) return;
  const silentTicksMax = TRANSFER_TARGET_SILENT_HEARTBEATS_MAX * limits.heartbeatTicks;
  const targetSilent = (): boolean => (replica.status().progress.find((p) => p.id === target)?.ticksSinceHeard ?? Infinity) > silentTicksMax;
  if (targetSilent()) return;
  const giveUp = new AbortController();
  const deadline = setTimeout(() => giveUp.abort(), limits.waitMs);
  const silenceCheck = setInterval(() => {
    if (targetSilent()) giveUp.abort();
  }, limits.heartbeatTicks * limits.tickMs);
  try {
    // Listening before the transfer starts: its role change cannot be missed.
    const deposed = events.next("role-changed", (event) => event.role !== "leader", giveUp.signal);
    replica.transferLeadership(target);
    await deposed;
  } finally {
    clearTimeout(deadline);
    clearInterval(silenceCheck);
    giveUp.abort();
  }
  const moved = !replica.isLeader();
  log.info({ to: target, moved }, `leadership transfer to ${target} before exit${moved || !targetSilent() ? "" : ": it stopped answering, so exiting without one"}`);
}
