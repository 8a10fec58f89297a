import type { ByteReader, ByteWriter } from "../codec/bytes.js";
import { STAMP_TEXT_CHARS_MAX, requestIdProblem, stampFromText, stampToText, type TraceStamp } from "../trace/index.js";
import { RequestContextError } from "./errors.js";

/**
 * The optional context of a frame, for request ids and traces (issue 18). A frame whose
 * kind byte has CONTEXT_FLAG set starts its payload with it:
 *
 *   request:  requestId string | hasStamp u8 | [stamp string]   (then the kind's payload)
 *   response: stamp string                                       (then the kind's payload)
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

const utf8 = new TextEncoder();

/** The context a request frame may carry: the id the request is known by in every log and trace, and the sender's trace stamp. */
export interface WireRequestContext {
  readonly requestId: string;
  readonly stamp?: TraceStamp;
}

export function writeRequestContext(writer: ByteWriter, context: WireRequestContext): void {
  writer.string(context.requestId, "context.requestId");
  writer.flag(context.stamp !== undefined);
  if (context.stamp !== undefined) writer.string(stampToText(context.stamp), "context.stamp");
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
  let stampText: string | undefined;
  try {
    requestId = reader.string();
    if (reader.flag()) stampText = reader.string();
  } catch (error) {
    refuse(`the request context does not decode: ${(error as Error).message}`);
  }
  const problem = requestIdProblem(requestId);
  if (problem !== undefined) refuse(problem);
  if (stampText === undefined) return { requestId };
  if (stampText.length > STAMP_TEXT_CHARS_MAX) refuse(`a trace stamp of ${stampText.length} characters is longer than ${STAMP_TEXT_CHARS_MAX}`);
  try {
    return { requestId, stamp: canonicalStamp(stampText) };
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
  return context.requestId.length + 2 + (context.stamp === undefined ? 0 : utf8.encode(stampToText(context.stamp)).length + 4);
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
