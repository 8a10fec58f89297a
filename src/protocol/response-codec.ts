import { ByteReader } from "../codec/bytes.js";
import {
  EVENT_BYTES_MIN,
  eventBytesHint,
  KEY_VALUE_BYTES_MIN,
  keyValueBytesHint,
  readEvent,
  readKeyValue,
  readKvResult,
  readLeader,
  writeEvent,
  writeKeyValue,
  writeKvResult,
  writeLeader,
} from "./codec-values.js";
import { CONTEXT_FLAG, readReplyStamp, writeReplyStamp } from "./context-codec.js";
import { ProtocolDecodeError } from "./errors.js";
import { ResponseKind, finishFrame, frameAround, startFrame, type Frame, type FrameAllocator } from "./frames.js";
import type { Response } from "./messages.js";

/**
 * Response frames: what a server sends. A reply to a request that carried a trace stamp
 * starts with the server's stamp (context-codec.ts: the kind byte's CONTEXT_FLAG).
 * Payloads by kind:
 *
 *   HELLO_OK      serverVersion string | memberId varint | leader | frameBytesMax varint | inFlightMax varint
 *   SESSION_OK    sessionId varint
 *   GET_OK        revision varint | found u8 | [key-value]
 *   GET_MANY_OK   revision varint | count varint | (found u8 | [key-value]) × count
 *   LIST_OK       revision varint | count varint | key-value × count | hasNext u8 | [nextAfter bytes]
 *   WRITE_OK      result bytes (the KV result codec)
 *   WATCH_EVENTS  nextRevision varint | count varint | event × count
 *   WATCH_END, CANCEL_OK  (empty)
 *   STATUS_OK     json string
 *   ERROR         code string | message string | retryable u8 | hasLeader u8 | [leader] | hasCompact u8 | [compactRevision varint]
 *   REDIRECT      leader
 *   BUSY          message string
 *
 * where leader = leaderId varint | hasAddress u8 | [clientAddress string], and a
 * key-value = key bytes | value bytes | flags u32 | version varint | createVersion varint
 * | hasExpiry u8 | [expiresAtMs varint].
 */

/** Most entries a LIST_OK, GET_MANY_OK or WATCH_EVENTS may carry; the frame limit usually binds first. */
export const RESPONSE_ITEMS_MAX = 100_000;

const KIND_BY_NAME: { readonly [K in Response["kind"]]: number } = {
  "hello-ok": ResponseKind.HelloOk,
  "session-ok": ResponseKind.SessionOk,
  "get-ok": ResponseKind.GetOk,
  "get-many-ok": ResponseKind.GetManyOk,
  "list-ok": ResponseKind.ListOk,
  "write-ok": ResponseKind.WriteOk,
  "watch-events": ResponseKind.WatchEvents,
  "watch-end": ResponseKind.WatchEnd,
  "cancel-ok": ResponseKind.CancelOk,
  "status-ok": ResponseKind.StatusOk,
  error: ResponseKind.Error,
  redirect: ResponseKind.Redirect,
  busy: ResponseKind.Busy,
};

/** The frame for a response; throws ProtocolEncodeError for a value the format cannot hold. */
export function encodeResponse(response: Response): Uint8Array {
  const { stamp } = response;
  const kind = KIND_BY_NAME[response.kind] | (stamp === undefined ? 0 : CONTEXT_FLAG);
  const writer = startFrame(kind, response.requestId, payloadBytesHint(response) + (stamp === undefined ? 0 : 256));
  if (stamp !== undefined) writeReplyStamp(writer, stamp);
  switch (response.kind) {
    case "hello-ok":
      writer.string(response.serverVersion, "serverVersion");
      writer.varint(response.memberId, "memberId");
      writeLeader(writer, response.leader);
      writer.varint(response.frameBytesMax, "frameBytesMax");
      writer.varint(response.inFlightMax, "inFlightMax");
      break;
    case "session-ok":
      writer.varint(response.sessionId, "sessionId");
      break;
    case "get-ok":
      writer.varint(response.revision, "revision");
      writer.flag(response.kv !== undefined);
      if (response.kv !== undefined) writeKeyValue(writer, response.kv);
      break;
    case "get-many-ok":
      writer.varint(response.revision, "revision");
      writer.varint(response.kvs.length, "kvs.length");
      for (const kv of response.kvs) {
        writer.flag(kv !== undefined);
        if (kv !== undefined) writeKeyValue(writer, kv);
      }
      break;
    case "list-ok":
      writer.varint(response.revision, "revision");
      writer.varint(response.entries.length, "entries.length");
      for (const kv of response.entries) writeKeyValue(writer, kv);
      writer.flag(response.nextAfter !== undefined);
      if (response.nextAfter !== undefined) writer.bytes(response.nextAfter, "nextAfter");
      break;
    case "write-ok":
      writeKvResult(writer, response.result);
      break;
    case "watch-events":
      writer.varint(response.nextRevision, "nextRevision");
      writer.varint(response.events.length, "events.length");
      for (const event of response.events) writeEvent(writer, event);
      break;
    case "watch-end":
    case "cancel-ok":
      break;
    case "status-ok":
      writer.string(response.json, "json");
      break;
    case "error":
      writer.string(response.code, "code");
      writer.string(response.message, "message");
      writer.flag(response.retryable);
      writer.flag(response.leader !== undefined);
      if (response.leader !== undefined) writeLeader(writer, response.leader);
      writer.flag(response.compactRevision !== undefined);
      if (response.compactRevision !== undefined) writer.varint(response.compactRevision, "compactRevision");
      break;
    case "redirect":
      writeLeader(writer, response.leader);
      break;
    case "busy":
      writer.string(response.message, "message");
      break;
  }
  return finishFrame(writer);
}

/** About the bytes of a response's payload, so that its frame is allocated once. */
function payloadBytesHint(response: Response): number {
  switch (response.kind) {
    case "get-ok":
      return 16 + (response.kv === undefined ? 0 : keyValueBytesHint(response.kv));
    case "get-many-ok":
      return response.kvs.reduce((sum, kv) => sum + 1 + (kv === undefined ? 0 : keyValueBytesHint(kv)), 16);
    case "list-ok":
      return response.entries.reduce((sum, kv) => sum + keyValueBytesHint(kv), 16 + (response.nextAfter?.length ?? 0));
    case "watch-events":
      return response.events.reduce((sum, event) => sum + eventBytesHint(event), 16);
    case "status-ok":
      return response.json.length + 8;
    case "error":
    case "busy":
      return response.message.length + 64;
    default:
      return 32;
  }
}

/** The response in a frame; throws ProtocolDecodeError (only) for anything malformed. */
export function decodeResponse(frame: Frame): Response {
  const { requestId } = frame;
  const reader = new ByteReader(frame.payload, (offset, reason) => new ProtocolDecodeError(`response kind 0x${frame.kind.toString(16)}`, offset, reason, requestId));
  if ((frame.kind & CONTEXT_FLAG) === 0) {
    const response = readResponse(reader, frame.kind, requestId);
    reader.expectEnd();
    return response;
  }
  const stamp = readReplyStamp(reader);
  const response = readResponse(reader, frame.kind & ~CONTEXT_FLAG, requestId);
  reader.expectEnd();
  return { ...response, stamp };
}

function readResponse(reader: ByteReader, kind: number, requestId: number): Response {
  switch (kind) {
    case ResponseKind.HelloOk: {
      const serverVersion = reader.string();
      const memberId = reader.varint();
      const leader = readLeader(reader);
      const frameBytesMax = reader.varint();
      return { kind: "hello-ok", requestId, serverVersion, memberId, leader, frameBytesMax, inFlightMax: reader.varint() };
    }
    case ResponseKind.SessionOk:
      return { kind: "session-ok", requestId, sessionId: reader.varint() };
    case ResponseKind.GetOk: {
      const revision = reader.varint();
      return reader.flag() ? { kind: "get-ok", requestId, revision, kv: readKeyValue(reader) } : { kind: "get-ok", requestId, revision };
    }
    case ResponseKind.GetManyOk: {
      const revision = reader.varint();
      const count = reader.count(1, "keys", RESPONSE_ITEMS_MAX);
      const kvs = [];
      for (let i = 0; i < count; i++) kvs.push(reader.flag() ? readKeyValue(reader) : undefined);
      return { kind: "get-many-ok", requestId, revision, kvs };
    }
    case ResponseKind.ListOk: {
      const revision = reader.varint();
      const count = reader.count(KEY_VALUE_BYTES_MIN, "entries", RESPONSE_ITEMS_MAX);
      const entries = [];
      for (let i = 0; i < count; i++) entries.push(readKeyValue(reader));
      const base = { kind: "list-ok", requestId, revision, entries } as const;
      return reader.flag() ? { ...base, nextAfter: reader.bytes() } : base;
    }
    case ResponseKind.WriteOk:
      return { kind: "write-ok", requestId, result: readKvResult(reader) };
    case ResponseKind.WatchEvents: {
      const nextRevision = reader.varint();
      const count = reader.count(EVENT_BYTES_MIN, "events", RESPONSE_ITEMS_MAX);
      const events = [];
      for (let i = 0; i < count; i++) events.push(readEvent(reader));
      return { kind: "watch-events", requestId, events, nextRevision };
    }
    case ResponseKind.WatchEnd:
      return { kind: "watch-end", requestId };
    case ResponseKind.CancelOk:
      return { kind: "cancel-ok", requestId };
    case ResponseKind.StatusOk:
      return { kind: "status-ok", requestId, json: reader.string() };
    case ResponseKind.Error:
      return readError(reader, requestId);
    case ResponseKind.Redirect:
      return { kind: "redirect", requestId, leader: readLeader(reader) };
    case ResponseKind.Busy:
      return { kind: "busy", requestId, message: reader.string() };
    default:
      throw reader.invalid(0, `unknown response kind 0x${kind.toString(16)}`);
  }
}

function readError(reader: ByteReader, requestId: number): Response {
  const code = reader.string();
  const message = reader.string();
  const retryable = reader.flag();
  const leader = reader.flag() ? readLeader(reader) : undefined;
  const compactRevision = reader.flag() ? reader.varint() : undefined;
  return {
    kind: "error", requestId, code, message, retryable,
    ...(leader === undefined ? {} : { leader }),
    ...(compactRevision === undefined ? {} : { compactRevision }),
  };
}

/**
 * A reply frame sent on under another request id: a follower handing the leader's answer
 * to a relayed request (encodeRelayedRequest) to the client that asked. The leader's
 * trace stamp is left out (it is for the member that asked, and a client that sent none
 * never sees a flagged reply); the rest is copied byte for byte.
 */
export function reframeResponse(frame: Frame, requestId: number, allocate?: FrameAllocator): Uint8Array {
  let payload = frame.payload;
  if ((frame.kind & CONTEXT_FLAG) !== 0) {
    const reader = new ByteReader(payload, (offset, reason) => new ProtocolDecodeError(`response kind 0x${frame.kind.toString(16)}`, offset, reason, frame.requestId));
    readReplyStamp(reader);
    payload = payload.subarray(reader.position);
  }
  return frameAround(frame.kind & ~CONTEXT_FLAG, requestId, payload, allocate);
}
