import type { EncodeErrorFactory } from "../codec/bytes.js";

/**
 * Errors of the client protocol codec. Decoding never throws anything else: a peer's
 * bytes are input, and bad input is an operating error the connection handles (it
 * answers PROTOCOL_ERROR and closes), never a crash.
 */

/** Bytes that are not a well-formed frame or message; `offset` is where reading failed. */
export class ProtocolDecodeError extends Error {
  override readonly name: string = "ProtocolDecodeError";
  constructor(
    readonly what: string,
    readonly offset: number,
    readonly reason: string,
    /** The frame's request id when the header was readable, so the reply can name it. */
    readonly requestId?: number,
  ) {
    super(`cannot decode ${what} at byte ${offset}: ${reason}`);
  }
}

/** A frame announces more bytes than the limit: the stream cannot be trusted past it. */
export class FrameTooLargeError extends ProtocolDecodeError {
  override readonly name: string = "FrameTooLargeError";
  constructor(
    readonly frameBytes: number,
    readonly frameBytesMax: number,
  ) {
    super("frame", 0, `frame of ${frameBytes} bytes is larger than frameBytesMax (${frameBytesMax})`);
  }
}

/** A message holds a value the format cannot carry (a negative number, a huge count). */
export class ProtocolEncodeError extends Error {
  override readonly name = "ProtocolEncodeError";
  constructor(
    readonly field: string,
    reason: string,
  ) {
    super(`cannot encode ${field}: ${reason}`);
  }
}

/** The protocol's encode error for the shared byte writer (`../codec/bytes.ts`). */
export const protocolEncodeError: EncodeErrorFactory = (field, value, requirement) =>
  new ProtocolEncodeError(field, `${requirement}, got ${String(value)}`);

/**
 * A request frame's context (its request id or trace stamp) is malformed or too long.
 * The frame was whole, so the connection answers INVALID_ARGUMENT for this request and
 * stays open.
 */
export class RequestContextError extends ProtocolDecodeError {
  override readonly name: string = "RequestContextError";
  constructor(reason: string, requestId: number) {
    super("request context", 0, reason, requestId);
  }
}
