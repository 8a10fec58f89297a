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

/** The meta commands of memcached 1.6 that name a key (`mn` has its own request). */
export type MetaCommandName = "mg" | "ms" | "md" | "ma" | "me";

/** Flags a meta reply carries back, in the order the request gave them. */
export type MetaEchoFlag = "O" | "k" | "b" | "c" | "f" | "t" | "s";

/** ms modes (M flag) KVRaft carries out atomically: set, add (E), replace, append, prepend. */
export type MetaStoreMode = "set" | "add" | "replace" | "append" | "prepend";

/**
 * A meta command (protocol.txt, "Meta Commands"): `<cmd> <key> [<datalen>] <flags>*`.
 * Only the flags this server carries out are here; the parser refuses the others.
 */
export interface MetaRequest {
  readonly kind: "meta";
  readonly command: MetaCommandName;
  /** The key as stored (decoded when `base64Key`). */
  readonly key: Uint8Array;
  /** b: the key travelled base64-encoded, and goes back that way (k). */
  readonly base64Key: boolean;
  /** q: suppress the nominal replies (mg: EN; ms: HD; md, ma: HD and NF). Errors always go out. */
  readonly quiet: boolean;
  readonly echo: readonly MetaEchoFlag[];
  /** O: an opaque token returned as sent. */
  readonly opaque?: string;
  /** v: mg/ma answer VA with the value. */
  readonly returnValue: boolean;
  /** C: compare: the key's version must be this (ms in set mode, md). */
  readonly compareCas?: bigint;
  /** T: exptime (memcached's meaning: relative seconds, absolute Unix time, negative = expired). */
  readonly ttl?: number;
  /** F: client flags (ms). */
  readonly clientFlags?: number;
  readonly storeMode: MetaStoreMode;
  readonly arithmetic: "incr" | "decr";
  /** D: ma's delta (default 1). */
  readonly delta: bigint;
  /** J: ma's initial value when N creates the key (default 0). */
  readonly initial: bigint;
  /** N: ma creates a missing key with this exptime. */
  readonly vivifyTtl?: number;
  /** ms only: the data block. */
  readonly data?: Uint8Array;
}

/** `mn`: answers MN, so that a client knows every quiet request before it was answered. */
export interface MetaNoopRequest {
  readonly kind: "meta-noop";
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
  | QuitRequest
  | MetaRequest
  | MetaNoopRequest;

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
    case "meta":
      // mg writes only to touch (T); me only reads.
      return request.command === "ms" || request.command === "md" || request.command === "ma" || (request.command === "mg" && request.ttl !== undefined);
    default:
      return false;
  }
}
