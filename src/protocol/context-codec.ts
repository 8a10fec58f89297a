import type { ByteReader, ByteWriter } from "../codec/bytes.js";
import {
  STAMP_TEXT_CHARS_MAX,
  TRACEPARENT_CHARS_MAX,
  TRACESTATE_CHARS_MAX,
  requestIdProblem,
  stampFromText,
  stampToText,
  type TraceStamp,
} from "../trace/index.js";
import { ProtocolEncodeError, RequestContextError } from "./errors.js";

/**
 * The optional context of a frame, for request ids and traces (issue 18). A frame whose
 * kind byte has CONTEXT_FLAG set starts its payload with it:
 *
 *   request:  requestId string | flags u8 (bit 0: a stamp follows; bit 1: a caller follows;
 *             bit 2: a traceparent follows; bit 3: a tracestate follows, only with bit 2)
 *             | [stamp string] | [onBehalfOf string] | [traceparent string] | [tracestate string]
 *                                                                   (then the kind's payload)
 *   response: stamp string                                          (then the kind's payload)
 *
 * Why a flag bit in the kind and not a new protocol version or a HELLO flag: a frame
 * without the bit is byte for byte what it was, so every old client keeps working
 * against a new server unchanged and a new server needs no negotiation to accept either;
 * the context is per frame (a client may trace some calls and not others); and a server
 * sets the bit on a reply only when its request carried a stamp, so a client that never
 * sends one never sees a flagged reply. An old server refuses a flagged frame (unknown
 * kind) and closes: the client library's HELLO carries a context as a probe, and on that
 * refusal it connects again and sends no contexts (src/client/connection.ts).
 * No request or response kind may use the bit (test/protocol/context-codec.test.ts checks).
 */
export const CONTEXT_FLAG = 0x10;

/** Longest `onBehalfOf`: a role, how it was proven and a URI-encoded name. */
export const ON_BEHALF_OF_CHARS_MAX = 1024;
const CONTEXT_STAMP = 1;
/**
 * A bit of its own, so a context without a caller is byte for byte the old one (bit 0
 * was a 0/1 flag): old clients' frames decode unchanged.
 */
const CONTEXT_ON_BEHALF_OF = 2;
/**
 * The caller's W3C trace context, as the HTTP API takes it in headers, so a request a
 * follower forwards keeps it on the leader. Bits of their own for the same reason as the
 * caller's: a context without them is byte for byte the old one. A member from before
 * them refuses a context that sets them (unknown flags), so a sender must know the
 * receiver takes them (the forwarder probes with its HELLO, forwarding.ts).
 */
const CONTEXT_TRACEPARENT = 4;
const CONTEXT_TRACESTATE = 8;
const CONTEXT_FLAGS_KNOWN = CONTEXT_STAMP | CONTEXT_ON_BEHALF_OF | CONTEXT_TRACEPARENT | CONTEXT_TRACESTATE;

const utf8 = new TextEncoder();

/** The context a request frame may carry: the id the request is known by in every log and trace, and the sender's trace stamp. */
export interface WireRequestContext {
  readonly requestId: string;
  readonly stamp?: TraceStamp;
  /**
   * The caller a member forwards this request for (`<role> <token|certificate> <name,
   * URI-encoded>`), which the leader checks the request's role against. The server
   * believes it only on a connection a member certificate proved; from anyone else the
   * request is refused.
   */
  readonly onBehalfOf?: string;
  /**
   * The caller's W3C traceparent and tracestate (a tracestate only with a traceparent).
   * The codec bounds their lengths and keeps them as sent; whoever takes them from a
   * frame validates them as it would HTTP headers (requestContextOf), dropping a bad one.
   */
  readonly traceparent?: string;
  readonly tracestate?: string;
}

/** The optional strings of a context after the stamp, in wire order, each with its flag bit and most characters. */
const OPTIONAL_TEXTS = [
  { field: "onBehalfOf", flag: CONTEXT_ON_BEHALF_OF, charsMax: ON_BEHALF_OF_CHARS_MAX, what: "the caller a request is forwarded for" },
  { field: "traceparent", flag: CONTEXT_TRACEPARENT, charsMax: TRACEPARENT_CHARS_MAX, what: "a traceparent" },
  { field: "tracestate", flag: CONTEXT_TRACESTATE, charsMax: TRACESTATE_CHARS_MAX, what: "a tracestate" },
] as const;

type OptionalTexts = { -readonly [K in (typeof OPTIONAL_TEXTS)[number]["field"]]?: string };

/** Why an optional string of a context is refused, or undefined when its length is fine. */
function optionalTextProblem(text: string, optional: (typeof OPTIONAL_TEXTS)[number]): string | undefined {
  if (text !== "" && text.length <= optional.charsMax) return undefined;
  return `${optional.what} must be 1..${optional.charsMax} characters, not ${text.length}`;
}

export function writeRequestContext(writer: ByteWriter, context: WireRequestContext): void {
  if (context.tracestate !== undefined && context.traceparent === undefined) {
    throw new ProtocolEncodeError("context.tracestate", "goes only with a traceparent");
  }
  writer.string(context.requestId, "context.requestId");
  let flags = context.stamp === undefined ? 0 : CONTEXT_STAMP;
  for (const optional of OPTIONAL_TEXTS) if (context[optional.field] !== undefined) flags |= optional.flag;
  writer.u8(flags);
  if (context.stamp !== undefined) writer.string(stampToText(context.stamp), "context.stamp");
  for (const optional of OPTIONAL_TEXTS) {
    const text = context[optional.field];
    if (text === undefined) continue;
    const problem = optionalTextProblem(text, optional);
    if (problem !== undefined) throw new ProtocolEncodeError(`context.${optional.field}`, problem);
    writer.string(text, `context.${optional.field}`);
  }
}

/**
 * True when a request payload starts with a context that holds `requestId` and nothing
 * else (no stamp, caller or trace context): the context a relay would write for it, so
 * the frame can go on as it came. Compares bytes, decodes nothing: a request id is
 * printable ASCII (requestIdProblem), one byte per character.
 */
export function contextIsOnlyRequestId(payload: Uint8Array, requestId: string): boolean {
  const length = requestId.length;
  // A request id is at most 64 characters, so its length is a one-byte varint.
  if (length >= 0x80 || payload.length < length + 2 || payload[0] !== length || payload[length + 1] !== 0) return false;
  for (let i = 0; i < length; i++) if (payload[i + 1] !== requestId.charCodeAt(i)) return false;
  return true;
}

/**
 * Reads a request's context; a bad one throws RequestContextError, which the server
 * answers with INVALID_ARGUMENT on that request and goes on: the frame itself was whole,
 * so the stream is still in step.
 */
export function readRequestContext(reader: ByteReader, frameRequestId: number): WireRequestContext {
  const refuse = (reason: string): never => {
    throw new RequestContextError(reason, frameRequestId);
  };
  let requestId = "";
  let flags = 0;
  let stampText: string | undefined;
  const texts: OptionalTexts = {};
  try {
    requestId = reader.string();
    flags = reader.u8();
    if ((flags & CONTEXT_STAMP) !== 0) stampText = reader.string();
    for (const optional of OPTIONAL_TEXTS) if ((flags & optional.flag) !== 0) texts[optional.field] = reader.string();
  } catch (error) {
    refuse(`the request context does not decode: ${(error as Error).message}`);
  }
  if ((flags & ~CONTEXT_FLAGS_KNOWN) !== 0) refuse(`unknown request context flags 0x${flags.toString(16)}`);
  if ((flags & CONTEXT_TRACESTATE) !== 0 && (flags & CONTEXT_TRACEPARENT) === 0) refuse("a request context has a tracestate without a traceparent");
  const problem = requestIdProblem(requestId);
  if (problem !== undefined) refuse(problem);
  for (const optional of OPTIONAL_TEXTS) {
    const text = texts[optional.field];
    const textProblem = text === undefined ? undefined : optionalTextProblem(text, optional);
    if (textProblem !== undefined) refuse(textProblem);
  }
  if (stampText === undefined) return { requestId, ...texts };
  if (stampText.length > STAMP_TEXT_CHARS_MAX) refuse(`a trace stamp of ${stampText.length} characters is longer than ${STAMP_TEXT_CHARS_MAX}`);
  try {
    return { requestId, stamp: canonicalStamp(stampText), ...texts };
  } catch (error) {
    return refuse((error as Error).message);
  }
}

/**
 * The stamp in `text`, which must be written as stampToText writes it (as every tracer
 * does): JSON has many spellings of one value (`1e0` for `1`, spaces), and a codec that
 * took them would not re-encode a frame to the bytes it read.
 */
function canonicalStamp(text: string): TraceStamp {
  const stamp = stampFromText(text);
  if (stampToText(stamp) !== text) throw new RangeError("a trace stamp must be written as kvraft's tracer writes it (compact JSON {\"m\":...,\"c\":{...}})");
  return stamp;
}

/** About the bytes a context adds to a frame. */
export function requestContextBytesHint(context: WireRequestContext | undefined): number {
  if (context === undefined) return 0;
  let bytes = context.requestId.length + 2 + (context.stamp === undefined ? 0 : utf8.encode(stampToText(context.stamp)).length + 4);
  for (const optional of OPTIONAL_TEXTS) {
    const text = context[optional.field];
    if (text !== undefined) bytes += utf8.encode(text).length + 4;
  }
  return bytes;
}

export function writeReplyStamp(writer: ByteWriter, stamp: TraceStamp): void {
  writer.string(stampToText(stamp), "stamp");
}

/**
 * A reply's stamp. One that is not a valid stamp fails the decode like any other bad
 * field of a reply (a server only sends stamps its tracer made): the decode stays
 * canonical, every frame it accepts re-encodes to the same bytes.
 */
export function readReplyStamp(reader: ByteReader): TraceStamp {
  const start = reader.position;
  const text = reader.string();
  if (text.length > STAMP_TEXT_CHARS_MAX) throw reader.invalid(start, `a trace stamp of ${text.length} characters is longer than ${STAMP_TEXT_CHARS_MAX}`);
  try {
    return canonicalStamp(text);
  } catch (error) {
    throw reader.invalid(start, (error as Error).message);
  }
}
