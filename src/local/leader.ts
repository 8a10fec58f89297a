import type { ServerStatus } from "../server/status.js";
import type { LocalPlan } from "./plan.js";
import { LOCAL_HOST } from "./plan.js";

/** One status request may take this long before the member counts as not answering. */
const STATUS_TIMEOUT_MS = 1000;

export interface LeaderSeen {
  readonly id: number;
  readonly term: number;
}

/**
 * Who leads, asked of the members themselves (GET /v1/status), not of the coordinator:
 * `kvraft local` must be able to stop the cluster in order even when the coordinator is
 * down, and Raft's own answer is the one to trust. The member that says "leader" with
 * the highest term wins, as in the coordinator's view.
 */
export async function findLeader(plan: LocalPlan): Promise<LeaderSeen | undefined> {
  const statuses = await Promise.all(plan.members.map((m) => memberStatus(`http://${LOCAL_HOST}:${m.httpPort}`)));
  let best: LeaderSeen | undefined;
  for (const status of statuses) {
    if (status?.role !== "leader") continue;
    if (best === undefined || status.term > best.term) best = { id: status.memberId, term: status.term };
  }
  return best;
}

/** A member's /v1/status, or undefined if it does not answer in time. */
export async function memberStatus(baseUrl: string): Promise<ServerStatus | undefined> {
  try {
    const response = await fetch(`${baseUrl}/v1/status`, { signal: AbortSignal.timeout(STATUS_TIMEOUT_MS) });
    return response.ok ? ((await response.json()) as ServerStatus) : undefined;
  } catch {
    return undefined;
  }
}

/** Polls until a leader is seen, the deadline passes, or `cancelled()` says to give up. */
export async function waitForLeader(plan: LocalPlan, timeoutMs: number, pollMs: number, cancelled: () => boolean): Promise<LeaderSeen | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (!cancelled() && Date.now() < deadline) {
    const leader = await findLeader(plan);
    if (leader !== undefined) return leader;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
  return undefined;
}
