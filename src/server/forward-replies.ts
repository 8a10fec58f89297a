import type { Response } from "../protocol/index.js";
import { describeResponse } from "../protocol-link/pipelined-connection.js";
import { AccessDeniedError } from "./auth/errors.js";
import { BusyError, CompactedError, InvalidRequestError, KvTimeoutError, NoSpaceError, NotLeaderError, UnavailableError, type KvServiceError } from "./errors.js";

/**
 * The leader's binary replies to a forwarded request, as what the follower's service
 * answers: the expected reply kind becomes the result, and every other reply the
 * KvServiceError it stands for, so the follower's port answers its client exactly as
 * the leader would have (client-port/replies.ts maps the other way).
 */

/** The result in `reply` when it is of kind `kind`; the error it stands for otherwise. */
export function expectReply<K extends Response["kind"]>(leader: number, kind: K, reply: Response): Extract<Response, { kind: K }> {
  if (reply.kind === kind) return reply as Extract<Response, { kind: K }>;
  throw leaderReplyError(leader, reply);
}

export function leaderReplyError(leader: number, reply: Response): KvServiceError {
  switch (reply.kind) {
    case "redirect":
      // The member forwarded to is no longer the leader (its term ended while the request was on its way).
      return new NotLeaderError(reply.leader.leaderId === 0 ? undefined : reply.leader,
        `member ${leader}, which this member forwarded to, is no longer the leader${reply.leader.leaderId === 0 ? "" : ` (it names member ${reply.leader.leaderId})`}: retry`);
    case "busy":
      return new BusyError(`the leader (member ${leader}) is busy: ${reply.message}`);
    case "error":
      return errorOfCode(leader, reply);
    default:
      return new UnavailableError(`the leader (member ${leader}) answered a forwarded request with ${describeResponse(reply)}, which does not answer it: retry`);
  }
}

function errorOfCode(leader: number, reply: Extract<Response, { kind: "error" }>): KvServiceError {
  const message = reply.message;
  switch (reply.code) {
    case "NOT_LEADER": return new NotLeaderError(reply.leader === undefined || reply.leader.leaderId === 0 ? undefined : reply.leader, message);
    case "TIMEOUT": return new KvTimeoutError(message);
    case "NOSPACE": return new NoSpaceError(message, reply.retryable);
    case "INVALID_ARGUMENT":
    case "TOO_LARGE": return new InvalidRequestError(message);
    case "COMPACTED": return new CompactedError(reply.compactRevision ?? 0, message);
    case "UNAUTHENTICATED":
    case "PERMISSION_DENIED": return new AccessDeniedError(reply.code, `the leader (member ${leader}) refused: ${message}`);
    default: return new UnavailableError(`the leader (member ${leader}) answered ${reply.code}: ${message}`);
  }
}
