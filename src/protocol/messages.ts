import type { KeyValue, KvEvent, KvResult, WriteCommand } from "../kv/index.js";
import type { TraceStamp } from "../trace/index.js";
import type { WireRequestContext } from "./context-codec.js";

/**
 * The messages of the client protocol, as data. Each is one frame; `requestId` is the
 * frame's. A response carries the id of the request it answers; WATCH_EVENTS frames
 * keep coming on the watch's id until WATCH_END or an ERROR ends the stream.
 */

/** How fresh a read must be; see KvService's ReadConsistency. Wire values in codec-values.ts. */
export type Consistency = "linearizable" | "follower" | "serializable";

export type Request = RequestMessage & {
  /**
   * The request's id in every log line and trace event (not the frame's `requestId`,
   * which only pairs a reply with its request on one connection), and the client's
   * trace stamp. Absent from old clients; see context-codec.ts.
   */
  readonly context?: WireRequestContext;
};

type RequestMessage =
  /**
   * First frame of a connection: who the client is, whether it wants forwarding, and
   * (when the cluster authenticates clients) its bearer token.
   */
  | { readonly kind: "hello"; readonly requestId: number; readonly clientName: string; readonly forward: boolean; readonly token?: string }
  /** Starts an exactly-once session (through the log, on the leader). */
  | { readonly kind: "register-session"; readonly requestId: number }
  | { readonly kind: "get"; readonly requestId: number; readonly key: Uint8Array; readonly consistency: Consistency }
  | { readonly kind: "get-many"; readonly requestId: number; readonly keys: readonly Uint8Array[]; readonly consistency: Consistency }
  | {
      readonly kind: "list";
      readonly requestId: number;
      readonly prefix: Uint8Array;
      readonly limit: number;
      /** Continue after this key (the previous page's nextAfter). */
      readonly after?: Uint8Array;
      /** The first page's revision, which every later page of the listing is read at. */
      readonly revision?: number;
      readonly consistency: Consistency;
    }
  /**
   * A write in the KV command codec (stamp 0 on the wire: the leader stamps it when it
   * proposes). Only write commands; a session ref inside makes it exactly-once.
   */
  | { readonly kind: "write"; readonly requestId: number; readonly command: WriteCommand }
  /** Streams the events under `prefix` from `fromRevision` (inclusive) until cancelled. */
  | { readonly kind: "watch"; readonly requestId: number; readonly prefix: Uint8Array; readonly fromRevision: number }
  /** Ends the watch started by `targetRequestId`. */
  | { readonly kind: "cancel"; readonly requestId: number; readonly targetRequestId: number }
  | { readonly kind: "status"; readonly requestId: number };

export type RequestKindName = Request["kind"];

/** Where the leader is, as an error or redirect names it. */
export interface LeaderRef {
  /** 0 when no leader is known. */
  readonly leaderId: number;
  /** The leader's advertised client-protocol address (host:port), when known. */
  readonly clientAddress?: string;
}

export type Response = ResponseMessage & {
  /** The server's trace stamp for this reply, sent only to a request that carried a stamp. */
  readonly stamp?: TraceStamp;
};

type ResponseMessage =
  | {
      readonly kind: "hello-ok";
      readonly requestId: number;
      readonly serverVersion: string;
      /** This member's id (0 when the server does not know it, e.g. a test double). */
      readonly memberId: number;
      /** Who leads as this member sees it, so a client can go there at once. */
      readonly leader: LeaderRef;
      /** The largest frame this server accepts and sends. */
      readonly frameBytesMax: number;
      /** Requests this server runs at once per connection; more are answered BUSY. */
      readonly inFlightMax: number;
    }
  | { readonly kind: "session-ok"; readonly requestId: number; readonly sessionId: number }
  | { readonly kind: "get-ok"; readonly requestId: number; readonly revision: number; readonly kv?: KeyValue }
  | { readonly kind: "get-many-ok"; readonly requestId: number; readonly revision: number; readonly kvs: readonly (KeyValue | undefined)[] }
  | {
      readonly kind: "list-ok";
      readonly requestId: number;
      readonly revision: number;
      readonly entries: readonly KeyValue[];
      readonly nextAfter?: Uint8Array;
    }
  /** The applied result, failures included (version-mismatch is an answer, not an error). */
  | { readonly kind: "write-ok"; readonly requestId: number; readonly result: KvResult }
  | {
      readonly kind: "watch-events";
      readonly requestId: number;
      readonly events: readonly KvEvent[];
      /** Resume from here: every matching event below it has been sent. */
      readonly nextRevision: number;
    }
  /** The watch ended because it was cancelled; no more frames on its id. */
  | { readonly kind: "watch-end"; readonly requestId: number }
  | { readonly kind: "cancel-ok"; readonly requestId: number }
  /** The member's status document (the same JSON as HTTP /v1/status). */
  | { readonly kind: "status-ok"; readonly requestId: number; readonly json: string }
  | {
      readonly kind: "error";
      readonly requestId: number;
      /** Stable code: NOT_LEADER, TIMEOUT, NOSPACE, INVALID_ARGUMENT, COMPACTED, UNAVAILABLE, PROTOCOL_ERROR, TOO_LARGE, INTERNAL, UNAUTHENTICATED, PERMISSION_DENIED. */
      readonly code: string;
      readonly message: string;
      /** Whether the same request may succeed if retried (elsewhere, or later). */
      readonly retryable: boolean;
      readonly leader?: LeaderRef;
      /** COMPACTED: the oldest revision a watch can start from. */
      readonly compactRevision?: number;
    }
  /** Not the leader: send this request (and the next ones) to the leader instead. */
  | { readonly kind: "redirect"; readonly requestId: number; readonly leader: LeaderRef }
  /** Too much in flight (on this connection or in the member): retry after a pause. */
  | { readonly kind: "busy"; readonly requestId: number; readonly message: string };

export type ResponseKindName = Response["kind"];

/** Error codes the server sends besides the KvServiceError codes. */
export const PROTOCOL_ERROR_CODE = "PROTOCOL_ERROR";
export const TOO_LARGE_CODE = "TOO_LARGE";
export const INTERNAL_CODE = "INTERNAL";
/** The server requires authentication and the client proved nothing (no token, an unknown one, no certificate). */
export const UNAUTHENTICATED_CODE = "UNAUTHENTICATED";
/** The client is known but its role may not do this (a read-only token writing). */
export const PERMISSION_DENIED_CODE = "PERMISSION_DENIED";
