import { z } from "zod";
import type { ServerStatus } from "../protocol/status.js";
import { HEARTBEAT_STRING_CHARS_MAX } from "./config.js";

/**
 * What a server sends to POST /v1/register and POST /v1/heartbeat: the cluster it
 * belongs to and its own /v1/status, unchanged. Using the one status schema means the
 * coordinator shows exactly what the member would answer a person asking it directly.
 */
export interface Heartbeat {
  readonly clusterId: string;
  readonly status: ServerStatus;
}

/** Register starts a new incarnation of a member (a process start); heartbeats continue it. */
export type HeartbeatKind = "register" | "heartbeat";

/**
 * Members listed inside one status. Bounded separately from the coordinator's
 * per-cluster limit because a status is parsed before any cluster is looked up.
 */
export const STATUS_MEMBERS_MAX = 1024;
const ALARMS_MAX = 16;

const text = z.string().max(HEARTBEAT_STRING_CHARS_MAX);
const index = z.number().int().min(0);
const memberId = z.number().int().min(1);

const addresses = z.object({
  peer: text.optional(),
  client: text.optional(),
  http: text.optional(),
  memcached: text.optional(),
});

const memberStatus = z.object({
  id: memberId,
  membership: z.enum(["voter", "learner"]),
  addresses,
  matchIndex: index.optional(),
  lag: index.optional(),
  replication: z.enum(["probe", "replicate", "snapshot"]).optional(),
  active: z.boolean().optional(),
  nonVoting: z.boolean().optional(),
});

const serverStatus = z.object({
  memberId,
  clusterId: text.min(1),
  version: text,
  role: z.enum(["leader", "follower", "candidate", "pre-candidate"]),
  membership: z.enum(["voter", "learner", "none"]),
  nonVoting: z.boolean(),
  term: index,
  leaderId: index,
  commitIndex: index,
  appliedIndex: index,
  lastIndex: index,
  addresses: addresses.extend({ listen: addresses }),
  members: z.array(memberStatus).max(STATUS_MEMBERS_MAX),
  alarms: z.array(text).max(ALARMS_MAX),
});

const heartbeat = z.object({ clusterId: text.min(1, "clusterId must not be empty"), status: serverStatus });

/** A body that does not fit the schema; the message names the field. */
export class InvalidHeartbeatError extends Error {
  override readonly name = "InvalidHeartbeatError";
}

/**
 * Checks a register/heartbeat body. Unknown fields are dropped, so a newer server can
 * send more than this coordinator knows without being refused.
 */
export function parseHeartbeat(body: unknown): Heartbeat {
  const result = heartbeat.safeParse(body);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new InvalidHeartbeatError(`invalid heartbeat: ${issue?.path.join(".") || "body"}: ${issue?.message ?? "does not match the schema"}`);
  }
  const parsed = result.data as Heartbeat;
  if (parsed.clusterId !== parsed.status.clusterId) {
    // Two ids for one member is a wiring mistake in the sender: refuse it loudly rather
    // than file the member under a cluster it does not belong to.
    throw new InvalidHeartbeatError(`invalid heartbeat: clusterId "${parsed.clusterId}" differs from status.clusterId "${parsed.status.clusterId}"`);
  }
  return parsed;
}
