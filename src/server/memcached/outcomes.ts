import type { KvFailure, KvResult } from "../../kv/index.js";
import { InvalidRequestError, KvServiceError, NoSpaceError } from "../errors.js";
import { REPLIES, line, type Reply } from "./replies.js";

/**
 * How KvService outcomes become memcached replies: failures the service throws (its
 * error classes) and failures it answers (KvResult codes) that no command handles
 * itself. memcached clients tell errors apart only by the first word: CLIENT_ERROR for
 * "your request is wrong", SERVER_ERROR for "I could not do it now".
 */

/** memcached's reply when it cannot allocate an item; clients recognise it. */
export const OUT_OF_MEMORY = "SERVER_ERROR out of memory storing object";
/** memcached's reply for an item over its item size limit. */
export const TOO_LARGE = "SERVER_ERROR object too large for cache";
export const NON_NUMERIC = "CLIENT_ERROR cannot increment or decrement non-numeric value";

/**
 * Thrown by command helpers to answer with `reply` from deep inside a sequence of
 * service calls; `executeRequest` turns it back into the reply.
 */
export class ReplyError extends Error {
  override readonly name = "ReplyError";
  constructor(readonly reply: Reply) {
    super(reply.kind === "line" ? reply.text : reply.kind);
  }
}

/**
 * The reply for an exception from the service. Anything that is not a KvServiceError is
 * a bug below this layer; it is answered SERVER_ERROR (this connection and the others
 * keep working) and passed to `onInternalError` so that the program can report it; the
 * reply names the command's request id, which the server's log line about it carries.
 */
export function serviceErrorReply(error: unknown, onInternalError: (error: unknown) => void, requestId?: string): Reply {
  if (error instanceof ReplyError) return error.reply;
  if (error instanceof NoSpaceError) return line(OUT_OF_MEMORY);
  if (error instanceof InvalidRequestError) return line(`CLIENT_ERROR ${error.message}`);
  // NotLeaderError (rare: the service forwards to the leader), BusyError, KvTimeoutError,
  // UnavailableError: the server could not do it now, and the message says what to do.
  if (error instanceof KvServiceError) return line(`SERVER_ERROR ${error.message}`);
  onInternalError(error);
  return line(`SERVER_ERROR internal error: see the server's log${requestId === undefined ? "" : ` (request ${requestId})`}`);
}

/** The reply for a KvResult failure that the command has no specific answer for. */
export function failureReply(result: KvFailure): Reply {
  switch (result.error) {
    case "not-a-number":
      return line(NON_NUMERIC);
    case "too-large":
      return line(TOO_LARGE);
    case "invalid-argument":
      return line(`CLIENT_ERROR ${result.message}`);
    default:
      // exists / not-found / version-mismatch are handled per command; session codes
      // cannot occur (this front-end sends no sessions). Say what happened, as memcached
      // would for a failure it did not expect.
      return line(`SERVER_ERROR ${result.error}: ${result.message}`);
  }
}

/** The reply of a storage command: STORED, or what its failure means for it. */
export function storageReply(result: KvResult, onMissing: Reply): Reply {
  if (result.ok) return REPLIES.stored;
  switch (result.error) {
    case "exists":
      return REPLIES.notStored;
    case "not-found":
      return onMissing;
    case "version-mismatch":
      // cas: a missing key is NOT_FOUND, a key at another version EXISTS.
      return (result.currentVersion ?? 0) === 0 ? REPLIES.notFound : REPLIES.exists;
    default:
      return failureReply(result);
  }
}

/** The reply of delete/touch-like commands: `success` when it applied, NOT_FOUND when the key is missing. */
export function keyReply(result: KvResult, success: Reply): Reply {
  if (result.ok) return success;
  return result.error === "not-found" ? REPLIES.notFound : failureReply(result);
}
