import type { KeyValue, ListResult } from "../../kv/index.js";
import { TOO_LARGE_CODE, type Request, type Response } from "../../protocol/index.js";
import type { KvService, ReadOptions } from "../kv-service.js";
import type { RequestScope } from "../request-scope.js";
import type { ClientPortOptions } from "./config.js";
import { REPLY_OVERHEAD_BYTES_MAX, keyValueBytesMax, notLeaderReply } from "./replies.js";

/** Requests answered by one service call and one reply (watch, hello and cancel are the connection's). */
export type ServiceRequest = Extract<Request, { kind: "register-session" | "get" | "get-many" | "list" | "write" | "status" }>;

export interface HandlerContext {
  readonly service: KvService;
  readonly options: ClientPortOptions;
  /** The client asked for forwarding in HELLO and the server allows it. */
  readonly forward: boolean;
  /** What the client called itself in HELLO (a forwarding member: kvraft-member-ID), for log lines. */
  readonly clientName: string;
}

/** HELLO_OK: who this member is and who leads as it sees it, so a client can go there at once, and the port's limits. */
export function helloReply(options: ClientPortOptions, requestId: number): Response {
  const view = options.leadership?.() ?? { memberId: 0, leaderId: 0 };
  const leader = view.leaderClientAddress === undefined ? { leaderId: view.leaderId } : { leaderId: view.leaderId, clientAddress: view.leaderClientAddress };
  return {
    kind: "hello-ok", requestId, serverVersion: options.serverVersion, memberId: view.memberId, leader,
    frameBytesMax: options.frameBytesMax, inFlightMax: options.inFlightPerConnectionMax,
  };
}

/** Writes run in arrival order and must reach the log through the leader. */
export function isWrite(request: ServiceRequest): boolean {
  return request.kind === "write" || request.kind === "register-session";
}

/**
 * REDIRECT (or NOT_LEADER) for a request this member should not serve, decided before
 * the service sees it: the service on a follower would forward it instead, and the
 * binary protocol's clients are meant to talk to the leader directly. Undefined when
 * the request may go ahead.
 */
export function redirectBeforeService(context: HandlerContext, request: ServiceRequest): Response | undefined {
  const leadership = context.options.leadership;
  if (leadership === undefined || !needsLeader(request)) return undefined;
  // The service forwards it to the leader (forwarding.ts), sessions included.
  if (context.forward) return undefined;
  const view = leadership();
  if (view.leaderId !== 0 && view.leaderId === view.memberId) return undefined;
  const leader = view.leaderClientAddress === undefined ? { leaderId: view.leaderId } : { leaderId: view.leaderId, clientAddress: view.leaderClientAddress };
  return notLeaderReply(request.requestId, leader);
}

function needsLeader(request: ServiceRequest): boolean {
  switch (request.kind) {
    case "write":
    case "register-session":
      return true;
    case "get":
    case "get-many":
    case "list":
      // Follower and serializable reads are served here by design.
      return request.consistency === "linearizable";
    case "status":
      return false;
  }
}

/**
 * Runs one request against the service; throws what the service throws (replies.ts maps
 * it). `scope` is the client request and its caller, for a follower that forwards it.
 */
export async function executeRequest(context: HandlerContext, request: ServiceRequest, scope: RequestScope): Promise<Response> {
  const { service, options } = context;
  const { requestId } = request;
  switch (request.kind) {
    case "register-session":
      return { kind: "session-ok", requestId, sessionId: await service.registerSession({ timeoutMs: options.requestTimeoutMs, scope }) };
    case "write":
      return { kind: "write-ok", requestId, result: await service.write(request.command, { timeoutMs: options.requestTimeoutMs, scope }) };
    case "get": {
      const outcome = await service.get(request.key, readOptions(context, request.consistency, scope));
      return outcome.kv === undefined ? { kind: "get-ok", requestId, revision: outcome.revision } : { kind: "get-ok", requestId, revision: outcome.revision, kv: outcome.kv };
    }
    case "get-many": {
      const { revision, kvs } = await service.getMany(request.keys, readOptions(context, request.consistency, scope));
      const bytes = kvs.reduce((sum, kv) => sum + 1 + (kv === undefined ? 0 : keyValueBytesMax(kv)), REPLY_OVERHEAD_BYTES_MAX);
      if (bytes > options.frameBytesMax) {
        return tooLarge(requestId, `the ${kvs.length} values asked for need about ${bytes} bytes, more than one frame holds (${options.frameBytesMax}): ask for fewer keys at a time`);
      }
      return { kind: "get-many-ok", requestId, revision, kvs };
    }
    case "list": {
      const listOptions = { limit: request.limit, after: request.after, revision: request.revision, ...readOptions(context, request.consistency, scope) };
      return listReply(requestId, await service.list(request.prefix, listOptions), options.frameBytesMax);
    }
    case "status":
      return { kind: "status-ok", requestId, json: JSON.stringify(options.statusJson()) };
  }
}

function readOptions(context: HandlerContext, consistency: ReadOptions["consistency"], scope: RequestScope): ReadOptions {
  const timeoutMs = context.options.requestTimeoutMs;
  return consistency === undefined ? { timeoutMs, scope } : { consistency, timeoutMs, scope };
}

/**
 * A list page cut to fit one frame: when entries are left out, `nextAfter` is the last
 * key sent, so the client's next page continues exactly where this one stopped.
 */
export function listReply(requestId: number, result: ListResult, frameBytesMax: number): Response {
  const entries: KeyValue[] = [];
  let used = REPLY_OVERHEAD_BYTES_MAX;
  const continuationBytes = result.nextAfter?.length ?? 0;
  for (const kv of result.entries) {
    const need = keyValueBytesMax(kv);
    // Room is kept for a continuation key: this entry's key, should the page be cut after it.
    if (used + need + Math.max(kv.key.length, continuationBytes) > frameBytesMax) break;
    entries.push(kv);
    used += need;
  }
  const base = { kind: "list-ok", requestId, revision: result.revision, entries } as const;
  if (entries.length === result.entries.length) return result.nextAfter === undefined ? base : { ...base, nextAfter: result.nextAfter };
  const last = entries[entries.length - 1];
  if (last === undefined) {
    return tooLarge(requestId, `the first key of the page needs more than one frame holds (${frameBytesMax} bytes): raise frameBytesMax on server and client`);
  }
  return { ...base, nextAfter: last.key };
}

function tooLarge(requestId: number, message: string): Response {
  return { kind: "error", requestId, code: TOO_LARGE_CODE, message, retryable: false };
}
