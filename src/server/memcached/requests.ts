/**
 * The requests of memcached's text protocol (protocol.txt, memcached 1.6) as the
 * parser yields them. Keys are bytes: memcached keys are byte strings, and a client
 * may use any byte above space except DEL. Numbers keep memcached's ranges: flags are
 * uint32, exptime int32, cas uniques and counter deltas uint64.
 */

/** memcached's KEY_MAX_LENGTH: longer keys are refused with CLIENT_ERROR. */
export const KEY_BYTES_MAX = 250;

export type StorageCommandName = "set" | "add" | "replace" | "append" | "prepend" | "cas";

/** A storage command with its data block (exactly `bytes` bytes, read past the line). */
export interface StorageRequest {
  readonly kind: "storage";
  readonly command: StorageCommandName;
  readonly key: Uint8Array;
  readonly flags: number;
  /** Seconds: 0 never, negative already expired, <= 30 days relative, else absolute Unix. */
  readonly exptime: number;
  readonly data: Uint8Array;
  /** Only for `cas`: the version the key must be at. */
  readonly casUnique?: bigint;
  readonly noreply: boolean;
}

/** `get`/`gets` (gets adds the cas unique to each VALUE line). */
export interface RetrievalRequest {
  readonly kind: "retrieval";
  readonly command: "get" | "gets";
  readonly keys: readonly Uint8Array[];
}

/** `gat`/`gats`: get and touch, with the new exptime first. */
export interface GetAndTouchRequest {
  readonly kind: "get-and-touch";
  readonly command: "gat" | "gats";
  readonly exptime: number;
  readonly keys: readonly Uint8Array[];
}

export interface DeleteRequest {
  readonly kind: "delete";
  readonly key: Uint8Array;
  readonly noreply: boolean;
}

export interface CounterRequest {
  readonly kind: "counter";
  readonly command: "incr" | "decr";
  readonly key: Uint8Array;
  readonly delta: bigint;
  readonly noreply: boolean;
}

export interface TouchRequest {
  readonly kind: "touch";
  readonly key: Uint8Array;
  readonly exptime: number;
  readonly noreply: boolean;
}

/** `flush_all [delay]`: the delay has exptime's meaning (memcached uses realtime() on it). */
export interface FlushAllRequest {
  readonly kind: "flush-all";
  readonly delay: number;
  readonly noreply: boolean;
}

export interface VersionRequest {
  readonly kind: "version";
}

export interface VerbosityRequest {
  readonly kind: "verbosity";
  readonly noreply: boolean;
}

/** `stats` with no group, or one of the groups this server answers. */
export interface StatsRequest {
  readonly kind: "stats";
  readonly group: "general" | "settings" | "reset" | "empty";
}

export interface QuitRequest {
  readonly kind: "quit";
}

export type Request =
  | StorageRequest
  | RetrievalRequest
  | GetAndTouchRequest
  | DeleteRequest
  | CounterRequest
  | TouchRequest
  | FlushAllRequest
  | VersionRequest
  | VerbosityRequest
  | StatsRequest
  | QuitRequest;

/**
 * A protocol error the parser found: the reply line to send (ERROR, CLIENT_ERROR ...,
 * SERVER_ERROR ...). `noreply` is set only when the request line itself was sound, so
 * its noreply can be trusted; `close` when the stream cannot be resynchronised.
 */
export interface ProtocolError {
  readonly kind: "protocol-error";
  readonly reply: string;
  readonly noreply: boolean;
  readonly close: boolean;
}

export type ParseEvent = Request | ProtocolError;

/** Whether a request changes the data: those wait for every earlier request on the connection. */
export function isWriteRequest(request: Request): boolean {
  switch (request.kind) {
    case "storage":
    case "get-and-touch":
    case "delete":
    case "counter":
    case "touch":
    case "flush-all":
      return true;
    default:
      return false;
  }
}
