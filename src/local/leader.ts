import { readFile } from "node:fs/promises";
import type { ClientTlsOptions } from "../security/client-credentials.js";
import { httpCall, httpTarget } from "../security/https-call.js";
import type { ServerStatus } from "../protocol/status.js";
import type { LocalPlan } from "./plan.js";
import { memberHttpUrl } from "./plan.js";

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
  const access = await localAccess(plan);
  const statuses = await Promise.all(plan.members.map((m) => memberStatus(memberHttpUrl(plan, m), access)));
  let best: LeaderSeen | undefined;
  for (const status of statuses) {
    if (status?.role !== "leader") continue;
    if (best === undefined || status.term > best.term) best = { id: status.memberId, term: status.term };
  }
  return best;
}

/** The CA and token `kvraft local` itself talks to its members with: the admin token (it runs the cluster). */
export interface LocalAccess {
  readonly tls: ClientTlsOptions | undefined;
  readonly token: string | undefined;
}

/** Read on each use: a start that made the files has written them by then. Undefined when the files cannot be read. */
export async function localAccess(plan: LocalPlan): Promise<LocalAccess | undefined> {
  if (plan.security === undefined) return { tls: undefined, token: undefined };
  try {
    const [ca, token] = await Promise.all([readFile(plan.security.caFile, "utf8"), readFile(plan.security.adminTokenFile, "utf8")]);
    return { tls: { ca, caSource: plan.security.caFile }, token: token.trim() };
  } catch {
    return undefined;
  }
}

/** A member's /v1/status, or undefined if it does not answer in time. */
export async function memberStatus(baseUrl: string, access: LocalAccess | undefined = { tls: undefined, token: undefined }): Promise<ServerStatus | undefined> {
  if (access === undefined) return undefined;
  try {
    const answer = await httpCall(httpTarget(baseUrl, "/v1/status", access.tls), { method: "GET", timeoutMs: STATUS_TIMEOUT_MS, tls: access.tls, token: access.token });
    return answer.status === 200 ? (JSON.parse(new TextDecoder().decode(answer.body)) as ServerStatus) : undefined;
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
