import { ByteWriter, setU32At, u32At } from "../codec/bytes.js";
import { FrameTooLargeError, ProtocolDecodeError, protocolEncodeError } from "./errors.js";

/**
 * The frame layer of the client protocol. Every unit on a client connection is
 *
 *   length u32 | version u8 | kind u8 | requestId u32 | payload
 *
 * big-endian; `length` counts the bytes after itself. The request id ties a response
 * to its request, so many requests can be in flight on one connection and answered in
 * any order. Pure: no IO.
 */

/** Version of the frame layout and message set; a frame of another version closes the connection. */
export const PROTOCOL_VERSION = 1;
/** Bytes before the payload: length, version, kind and request id. */
export const FRAME_HEADER_BYTES = 10;
/** Bytes of the length field itself, which it does not count. */
const LENGTH_FIELD_BYTES = 4;
/** A frame's whole size, header included, unless both sides agree on another limit. */
export const FRAME_BYTES_MAX_DEFAULT = 4 * 1024 * 1024;
/**
 * The smallest frame limit either side may configure: a hello, an error with a
 * readable message and a small key-value must always fit.
 */
export const FRAME_BYTES_MAX_MIN = 4 * 1024;
/** The largest frame limit: above the KV layer's largest value (64 MiB) with room for the rest. */
export const FRAME_BYTES_MAX_LIMIT = 80 * 1024 * 1024;
/** Request id 0 is never used by a request: a reply with it concerns the whole connection. */
export const CONNECTION_REQUEST_ID = 0;
/** Request ids are u32; a client wraps around to 1 after this. */
export const REQUEST_ID_MAX = 0xffff_ffff;
/** An idle decoder keeps at most this much buffer; more was for a large frame now gone. */
const RETAINED_BUFFER_BYTES_MAX = 64 * 1024;

/** Frames a client sends. Numbers are on the wire: never renumber, only append. */
export const RequestKind = {
  Hello: 0x01,
  RegisterSession: 0x02,
  Get: 0x03,
  GetMany: 0x04,
  List: 0x05,
  Write: 0x06,
  Watch: 0x07,
  Cancel: 0x08,
  Status: 0x09,
} as const;

/** Frames a server sends. The high bit marks a response, so a reflected frame is never mistaken for a request. */
export const ResponseKind = {
  HelloOk: 0x81,
  SessionOk: 0x82,
  GetOk: 0x83,
  GetManyOk: 0x84,
  ListOk: 0x85,
  WriteOk: 0x86,
  WatchEvents: 0x87,
  WatchEnd: 0x88,
  CancelOk: 0x89,
  StatusOk: 0x8a,
  Error: 0xe0,
  Redirect: 0xe1,
  Busy: 0xe2,
} as const;

export interface Frame {
  readonly version: number;
  readonly kind: number;
  readonly requestId: number;
  /** Views the decoder's buffer: decode it before the next `push`. */
  readonly payload: Uint8Array;
}

/**
 * A writer with a frame header in place; fill the payload, then `finishFrame`. The hint
 * is the payload's expected size: near it, the frame is one allocation and no copy.
 */
export function startFrame(kind: number, requestId: number, payloadBytesHint: number): ByteWriter {
  const writer = new ByteWriter(FRAME_HEADER_BYTES + payloadBytesHint, protocolEncodeError);
  writer.u32(0, "length");
  writer.u8(PROTOCOL_VERSION);
  writer.u8(kind);
  writer.u32(requestId, "requestId");
  return writer;
}

/**
 * A frame around a payload already encoded (a frame sent on under another request id):
 * one allocation of the exact size, the payload copied once, no writer.
 */
export function frameAround(kind: number, requestId: number, payload: Uint8Array, allocate: FrameAllocator = NEW_BYTES): Uint8Array {
  if (!Number.isInteger(requestId) || requestId < 0 || requestId > REQUEST_ID_MAX) throw protocolEncodeError("requestId", requestId, "must be an integer in [0, 2^32 - 1]");
  const bytes = allocate(FRAME_HEADER_BYTES + payload.length);
  setU32At(bytes, 0, bytes.length - LENGTH_FIELD_BYTES);
  bytes[4] = PROTOCOL_VERSION;
  bytes[5] = kind;
  setU32At(bytes, 6, requestId);
  bytes.set(payload, FRAME_HEADER_BYTES);
  return bytes;
}

/**
 * Where a frame's bytes come from: a new Uint8Array by default; a server passes an
 * allocator that carves small frames from a shared pool (Node's Buffer.allocUnsafe), for
 * frames that go straight to a socket. Every byte of what it returns is written.
 */
export type FrameAllocator = (bytes: number) => Uint8Array;

const NEW_BYTES: FrameAllocator = (bytes) => new Uint8Array(bytes);

/** The frame's bytes, with its length field set. */
export function finishFrame(writer: ByteWriter): Uint8Array {
  writer.patchU32(0, writer.position - LENGTH_FIELD_BYTES);
  return writer.finish();
}

/**
 * Splits a byte stream into frames. Memory is bounded by one frame plus the chunk being
 * pushed: a length above `frameBytesMax` is refused as soon as its 4 bytes arrive,
 * before anything of the frame is buffered. After `next` throws, the stream has lost
 * its framing and the connection must close.
 */
export class FrameDecoder {
  private buffer = new Uint8Array(0);
  private start = 0;
  private end = 0;

  constructor(readonly frameBytesMax: number) {}

  /** Bytes received and not yet returned as frames. */
  get bufferedBytes(): number {
    return this.end - this.start;
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    if (this.end + chunk.length > this.buffer.length) this.makeRoom(chunk.length);
    this.buffer.set(chunk, this.end);
    this.end += chunk.length;
  }

  /** The next whole frame, or undefined until more bytes arrive. */
  next(): Frame | undefined {
    const available = this.end - this.start;
    if (available < LENGTH_FIELD_BYTES) return undefined;
    // Read by hand, not through a DataView: one object fewer per frame on every connection.
    const buffer = this.buffer;
    const start = this.start;
    const length = u32At(buffer, start);
    const frameBytes = LENGTH_FIELD_BYTES + length;
    if (frameBytes > this.frameBytesMax) throw new FrameTooLargeError(frameBytes, this.frameBytesMax);
    if (frameBytes < FRAME_HEADER_BYTES) {
      throw new ProtocolDecodeError("frame", 0, `length ${length} is shorter than the ${FRAME_HEADER_BYTES - LENGTH_FIELD_BYTES}-byte header it must count`);
    }
    if (available < frameBytes) return undefined;
    const version = buffer[start + 4] as number;
    const kind = buffer[start + 5] as number;
    const requestId = u32At(buffer, start + 6);
    if (version !== PROTOCOL_VERSION) {
      throw new ProtocolDecodeError("frame", 4, `unsupported protocol version ${version} (this build speaks ${PROTOCOL_VERSION})`, requestId);
    }
    const payload = this.buffer.subarray(this.start + FRAME_HEADER_BYTES, this.start + frameBytes);
    this.start += frameBytes;
    if (this.start === this.end) this.reset();
    return { version, kind, requestId, payload };
  }

  /** Empty again: a buffer grown for one large frame is given back rather than kept per connection. */
  private reset(): void {
    this.start = 0;
    this.end = 0;
    if (this.buffer.length > RETAINED_BUFFER_BYTES_MAX) this.buffer = new Uint8Array(0);
  }

  /** Moves unread bytes to the front, growing only when one frame needs more room. */
  private makeRoom(incoming: number): void {
    const unread = this.end - this.start;
    const needed = unread + incoming;
    const target = needed <= this.buffer.length ? this.buffer : new Uint8Array(Math.max(needed, this.buffer.length * 2, 4096));
    target.set(this.buffer.subarray(this.start, this.end), 0);
    this.buffer = target;
    this.start = 0;
    this.end = unread;
  }
}
