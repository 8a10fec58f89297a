import { ByteReader, type ByteValues } from "../codec/bytes.js";
import { encodedCommandBytesHint } from "../kv/command-codec.js";
import {
  readCommand,
  readConsistency,
  writeCommand,
  writeConsistency,
} from "./codec-values.js";
import { CONTEXT_FLAG, contextIsOnlyRequestId, readRequestContext, requestContextBytesHint, writeRequestContext } from "./context-codec.js";
import { ProtocolDecodeError, ProtocolEncodeError } from "./errors.js";
import { RequestKind, finishFrame, frameAround, startFrame, type Frame, type FrameAllocator } from "./frames.js";
import type { Request } from "./messages.js";
import type { WireRequestContext } from "./context-codec.js";

/**
 * Request frames: what a client sends. Any of them may start with a request context
 * (context-codec.ts: the kind byte's CONTEXT_FLAG). Payloads by kind:
 *
 *   HELLO             clientName string | flags u8 (bit 0: forward to the leader instead of redirecting;
 *                     bit 1: a token follows) | [token string]
 *   REGISTER_SESSION  (empty)
 *   GET               key bytes | consistency u8
 *   GET_MANY          consistency u8 | count varint | key bytes × count
 *   LIST              prefix bytes | limit varint | consistency u8 | hasAfter u8 | [after bytes]
 *                     | hasRevision u8 | [revision varint]
 *   WRITE             command bytes (the KV command codec, stamp 0)
 *   WATCH             prefix bytes | fromRevision varint
 *   CANCEL            targetRequestId u32
 *   STATUS            (empty)
 */

/** Longest client name: it is for logs and metrics labels, not for data. */
export const CLIENT_NAME_BYTES_MAX = 256;
/**
 * Longest token in HELLO: generated tokens are 64 hex characters; room for a JWT-sized
 * one, while a connection still cannot make the server hold much before it is known.
 */
export const CLIENT_TOKEN_BYTES_MAX = 4096;
/** Most keys in one GET_MANY: bounds the work and the reply of one request. */
export const GET_MANY_KEYS_MAX = 1024;

const utf8 = new TextEncoder();
const HELLO_FORWARD = 1;
/** A flag bit rather than a new field, so a HELLO without a token is byte for byte the old one. */
const HELLO_TOKEN = 2;
const HELLO_FLAGS_KNOWN = HELLO_FORWARD | HELLO_TOKEN;
const KIND_BY_NAME: { readonly [K in Request["kind"]]: number } = {
  hello: RequestKind.Hello,
  "register-session": RequestKind.RegisterSession,
  get: RequestKind.Get,
  "get-many": RequestKind.GetMany,
  list: RequestKind.List,
  write: RequestKind.Write,
  watch: RequestKind.Watch,
  cancel: RequestKind.Cancel,
  status: RequestKind.Status,
};

/** The frame for a request; throws ProtocolEncodeError for a value the format cannot hold. */
export function encodeRequest(request: Request): Uint8Array {
  if (request.requestId === 0) throw new ProtocolEncodeError("requestId", "0 is reserved for replies about the whole connection");
  const { context } = request;
  const kind = KIND_BY_NAME[request.kind] | (context === undefined ? 0 : CONTEXT_FLAG);
  const writer = startFrame(kind, request.requestId, payloadBytesHint(request) + requestContextBytesHint(context));
  if (context !== undefined) writeRequestContext(writer, context);
  switch (request.kind) {
    case "hello":
      if (utf8.encode(request.clientName).length > CLIENT_NAME_BYTES_MAX) throw new ProtocolEncodeError("clientName", `is longer than ${CLIENT_NAME_BYTES_MAX} bytes`);
      writer.string(request.clientName, "clientName");
      writer.u8((request.forward ? HELLO_FORWARD : 0) | (request.token === undefined ? 0 : HELLO_TOKEN));
      if (request.token !== undefined) {
        if (request.token === "" || utf8.encode(request.token).length > CLIENT_TOKEN_BYTES_MAX) throw new ProtocolEncodeError("token", `must be 1..${CLIENT_TOKEN_BYTES_MAX} bytes`);
        writer.string(request.token, "token");
      }
      break;
    case "register-session":
    case "status":
      break;
    case "get":
      writer.bytes(request.key, "key");
      writeConsistency(writer, request.consistency);
      break;
    case "get-many":
      writeConsistency(writer, request.consistency);
      writer.varint(request.keys.length, "keys.length");
      for (const key of request.keys) writer.bytes(key, "key");
      break;
    case "list":
      writer.bytes(request.prefix, "prefix");
      writer.varint(request.limit, "limit");
      writeConsistency(writer, request.consistency);
      writer.flag(request.after !== undefined);
      if (request.after !== undefined) writer.bytes(request.after, "after");
      writer.flag(request.revision !== undefined);
      if (request.revision !== undefined) writer.varint(request.revision, "revision");
      break;
    case "write":
      writeCommand(writer, request.command);
      break;
    case "watch":
      writer.bytes(request.prefix, "prefix");
      writer.varint(request.fromRevision, "fromRevision");
      break;
    case "cancel":
      writer.u32(request.targetRequestId, "targetRequestId");
      break;
  }
  return finishFrame(writer);
}

/** About the bytes of a request's payload, so that its frame is allocated once. */
function payloadBytesHint(request: Request): number {
  switch (request.kind) {
    case "hello":
      return request.clientName.length + (request.token?.length ?? 0) + 16;
    case "get":
      return request.key.length + 16;
    case "get-many":
      return request.keys.reduce((sum, key) => sum + key.length + 8, 16);
    case "list":
      return request.prefix.length + (request.after?.length ?? 0) + 32;
    case "write":
      return encodedCommandBytesHint(request.command) + 8;
    case "watch":
      return request.prefix.length + 16;
    case "register-session":
    case "status":
    case "cancel":
      return 8;
  }
}

/**
 * The request in a frame; throws ProtocolDecodeError (only) for anything malformed.
 * With "views" its keys and values view the frame (valid until the decoder's next push):
 * for a request that is checked and then sent on as its frame (encodeRelayedRequest).
 */
export function decodeRequest(frame: Frame, values: ByteValues = "copies"): Request {
  const { requestId } = frame;
  const reader = new ByteReader(frame.payload, (offset, reason) => new ProtocolDecodeError(`request kind 0x${frame.kind.toString(16)}`, offset, reason, requestId), values);
  if ((frame.kind & CONTEXT_FLAG) === 0) {
    const request = readRequest(reader, frame.kind, requestId);
    reader.expectEnd();
    return request;
  }
  if (requestId === 0) throw reader.invalid(0, "request id 0 is reserved for replies about the whole connection");
  const context = readRequestContext(reader, requestId);
  const request = readRequest(reader, frame.kind & ~CONTEXT_FLAG, requestId);
  reader.expectEnd();
  return { ...request, context };
}

function readRequest(reader: ByteReader, kind: number, requestId: number): Request {
  if (requestId === 0) throw reader.invalid(0, "request id 0 is reserved for replies about the whole connection");
  switch (kind) {
    case RequestKind.Hello: {
      const start = reader.position;
      const clientName = reader.string();
      if (utf8.encode(clientName).length > CLIENT_NAME_BYTES_MAX) throw reader.invalid(start, `client name is longer than ${CLIENT_NAME_BYTES_MAX} bytes`);
      const flagsAt = reader.position;
      const flags = reader.u8();
      if ((flags & ~HELLO_FLAGS_KNOWN) !== 0) throw reader.invalid(flagsAt, `unknown hello flags 0x${flags.toString(16)}`);
      const hello = { kind: "hello", requestId, clientName, forward: (flags & HELLO_FORWARD) !== 0 } as const;
      if ((flags & HELLO_TOKEN) === 0) return hello;
      const tokenAt = reader.position;
      const token = reader.string();
      if (token === "" || utf8.encode(token).length > CLIENT_TOKEN_BYTES_MAX) throw reader.invalid(tokenAt, `the token must be 1..${CLIENT_TOKEN_BYTES_MAX} bytes`);
      return { ...hello, token };
    }
    case RequestKind.RegisterSession:
      return { kind: "register-session", requestId };
    case RequestKind.Status:
      return { kind: "status", requestId };
    case RequestKind.Get: {
      const key = reader.bytes();
      return { kind: "get", requestId, key, consistency: readConsistency(reader) };
    }
    case RequestKind.GetMany: {
      const consistency = readConsistency(reader);
      const count = reader.count(1, "keys", GET_MANY_KEYS_MAX);
      const keys: Uint8Array[] = [];
      for (let i = 0; i < count; i++) keys.push(reader.bytes());
      return { kind: "get-many", requestId, keys, consistency };
    }
    case RequestKind.List: {
      const prefix = reader.bytes();
      const limit = reader.varint();
      const consistency = readConsistency(reader);
      const base = { kind: "list", requestId, prefix, limit, consistency } as const;
      const after = reader.flag() ? { after: reader.bytes() } : {};
      const revision = reader.flag() ? { revision: reader.varint() } : {};
      return { ...base, ...after, ...revision };
    }
    case RequestKind.Write:
      return { kind: "write", requestId, command: readCommand(reader) };
    case RequestKind.Watch: {
      const prefix = reader.bytes();
      return { kind: "watch", requestId, prefix, fromRevision: reader.varint() };
    }
    case RequestKind.Cancel:
      return { kind: "cancel", requestId, targetRequestId: reader.u32() };
    default:
      throw reader.invalid(0, `unknown request kind 0x${kind.toString(16)}`);
  }
}

/**
 * A request frame sent on as it came, under another request id and context: a follower
 * relaying a client's write to its leader. The payload after the frame's own context
 * (the command) is copied byte for byte, never decoded and encoded again. The frame
 * must have decoded (decodeRequest) already: it is not checked twice.
 */
export function encodeRelayedRequest(frame: Frame, requestId: number, context: WireRequestContext, allocate?: FrameAllocator): Uint8Array {
  if (requestId === 0) throw new ProtocolEncodeError("requestId", "0 is reserved for replies about the whole connection");
  // The usual case, a client's request id and nothing else, which the frame holds already: only the frame's id changes.
  const onlyRequestId = context.stamp === undefined && context.onBehalfOf === undefined && context.traceparent === undefined && context.tracestate === undefined;
  if ((frame.kind & CONTEXT_FLAG) !== 0 && onlyRequestId && contextIsOnlyRequestId(frame.payload, context.requestId)) return frameAround(frame.kind, requestId, frame.payload, allocate);
  const body = requestBody(frame);
  const writer = startFrame((frame.kind & ~CONTEXT_FLAG) | CONTEXT_FLAG, requestId, requestContextBytesHint(context) + body.length);
  writeRequestContext(writer, context);
  writer.raw(body);
  return finishFrame(writer);
}

/** A request frame's payload after its context, if it has one. */
function requestBody(frame: Frame): Uint8Array {
  if ((frame.kind & CONTEXT_FLAG) === 0) return frame.payload;
  const reader = new ByteReader(frame.payload, (offset, reason) => new ProtocolDecodeError("request context", offset, reason, frame.requestId));
  readRequestContext(reader, frame.requestId);
  return frame.payload.subarray(reader.position);
}
