/**
 * Every failure the transport reports, one class per kind, so that callers decide with
 * `instanceof`. Operating errors (a malformed frame from a peer, a taken port) are
 * expected: the transport closes the connection or rejects `start()`. An encode error is
 * a programmer error: the caller handed over a message that breaks its own type.
 */

/** Base class of every error the transport throws or reports in an `error` event. */
export class TransportError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A `TransportConfig` field is missing or out of range; `field` names it. */
export class TransportConfigError extends TransportError {
  constructor(
    readonly field: string,
    readonly value: unknown,
    requirement: string,
  ) {
    super(`transport config: ${field} = ${describe(value)} is invalid: ${requirement}`);
  }
}

/**
 * Bytes that are not a well-formed frame or message. `offset` is where reading failed
 * inside the unit named by `what` ("frame", "RAFT payload", ...). The connection that
 * carried them is closed: after a framing error nothing later on it can be trusted.
 */
export class TransportDecodeError extends TransportError {
  constructor(
    readonly what: string,
    readonly offset: number,
    readonly reason: string,
  ) {
    super(`cannot decode ${what} at byte ${offset}: ${reason}`);
  }
}

/** A frame header announced more bytes than the decoder accepts. */
export class FrameTooLargeError extends TransportDecodeError {
  constructor(
    readonly frameBytes: number,
    readonly frameBytesMax: number,
  ) {
    super("frame", 0, `frame of ${frameBytes} bytes exceeds the limit of ${frameBytesMax} bytes (frameBytesMax)`);
  }
}

/**
 * A message cannot be encoded because a field breaks its type (a negative index, a
 * fraction, a string where a number belongs). The Raft core never produces one: this is
 * a bug in the caller.
 */
export class TransportEncodeError extends TransportError {
  constructor(
    readonly field: string,
    readonly value: unknown,
    requirement: string,
  ) {
    super(`cannot encode message field ${field} = ${describe(value)}: ${requirement}`);
  }
}

/** `start()` could not listen on the configured address. */
export class TransportListenError extends TransportError {
  constructor(
    readonly host: string,
    readonly port: number,
    /** The system error code, such as EADDRINUSE or EACCES, when there is one. */
    readonly code: string | undefined,
    cause: unknown,
  ) {
    const hint = code === "EADDRINUSE"
      ? "the address is already in use: stop the other process or choose another peer port"
      : "check the peer listen address and port";
    super(`transport cannot listen on ${host}:${port} (${code ?? "unknown error"}): ${hint}`, { cause });
  }
}

/** The remote end broke the handshake or sent a frame it must not send at that point. */
export class TransportProtocolError extends TransportError {}

/** The transport was used in a way its lifecycle does not allow (start twice, ...). */
export class TransportStateError extends TransportError {}

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) return `[array of ${value.length}]`;
  return String(value);
}
