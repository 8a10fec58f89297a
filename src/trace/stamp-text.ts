import type { TraceStamp } from "./tracer.js";
import { checkClock, VectorClockError } from "./vector-clock.js";

/**
 * A trace stamp as text, for the wires that carry one: an HTTP header
 * (`TRACE_STAMP_HEADER`) and the binary protocols' optional stamp fields (UTF-8 bytes).
 * Stamps come from the network, so parsing validates and bounds them. Pure.
 */

/** The HTTP header a traced request or heartbeat carries its stamp in. */
export const TRACE_STAMP_HEADER = "x-kvraft-trace-stamp";
/** The longest stamp text accepted, in characters: a clock of a few dozen hosts fits with room. */
export const STAMP_TEXT_CHARS_MAX = 8 * 1024;
const MESSAGE_ID = /^\S{1,200}#\d{1,15}$/;

export function stampToText(stamp: TraceStamp): string {
  return JSON.stringify({ m: stamp.messageId, c: stamp.clock });
}

/** Parses a stamp that arrived from elsewhere; throws VectorClockError saying what is wrong. */
export function stampFromText(text: string): TraceStamp {
  if (text.length > STAMP_TEXT_CHARS_MAX) {
    throw new VectorClockError(`a trace stamp of ${text.length} characters is longer than ${STAMP_TEXT_CHARS_MAX}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new VectorClockError("a trace stamp must be JSON {\"m\": messageId, \"c\": clock}");
  }
  if (typeof value !== "object" || value === null) throw new VectorClockError("a trace stamp must be a JSON object");
  const { m, c } = value as { m?: unknown; c?: unknown };
  if (typeof m !== "string" || !MESSAGE_ID.test(m)) throw new VectorClockError(`a trace stamp's message id must read HOST#n, not ${JSON.stringify(m)}`);
  return { messageId: m, clock: checkClock(c) };
}

/** A stamp from a header or field that may be absent or bad: a bad stamp is dropped (the event is then local), never fatal. */
export function stampFromOptionalText(text: string | undefined): TraceStamp | undefined {
  if (text === undefined || text === "") return undefined;
  try {
    return stampFromText(text);
  } catch {
    return undefined;
  }
}
