import type { Message } from "../raft/messages.js";
import type { NodeId } from "../raft/types.js";
import { ByteReader, ByteWriter } from "../codec/bytes.js";
import { stampFromOptionalText, stampToText, type TraceStamp } from "../trace/index.js";
import { decodeMessage, messageBytesHint, transportDecodeError, transportEncodeError, writeMessage } from "./codec.js";
import { FrameTooLargeError, TransportDecodeError, TransportEncodeError } from "./errors.js";

/**
 * The frame layer: every unit on a peer connection is
 *
 *   length u32 (big-endian, counts the bytes after itself) | version u8 | type u8 | payload
 *
 * and the handshake payloads (HELLO, HELLO_ACK, REFUSE) are defined here too. Pure.
 */

/** Version of this frame layout; a frame of any other version closes the connection. */
export const FRAME_VERSION = 1;
/** Bytes before the payload: the length, the version and the type. */
export const FRAME_HEADER_BYTES = 6;
/** Bytes the length field counts besides the payload: the version and the type. */
const LENGTH_COUNTED_HEADER_BYTES = 2;
/** Bytes of the length field itself, which it does not count. */
const LENGTH_FIELD_BYTES = FRAME_HEADER_BYTES - LENGTH_COUNTED_HEADER_BYTES;
/** The largest frame accepted before the handshake: HELLO is tiny, a stranger gets no more. */
export const HANDSHAKE_FRAME_BYTES_MAX = 1024;
/** The longest cluster id, in UTF-8 bytes, so that HELLO fits its frame limit. */
export const CLUSTER_ID_BYTES_MAX = 128;
/** Refusal reasons are cut to this many characters: they are read by people, in logs. */
const REFUSE_REASON_CHARS_MAX = 400;

export enum FrameType {
  /** First frame of a connection, from the side that dialled: who I am, whom I called. */
  Hello = 1,
  /** The callee accepts; RAFT frames may follow from the caller. */
  HelloAck = 2,
  /** The callee refuses, says why, and closes. */
  Refuse = 3,
  /** One Raft message (`codec.ts`). */
  Raft = 4,
  /**
   * One Raft message with the sender's trace stamp before it (`stampToText` as a
   * length-prefixed string): sent only by a member started with --trace-log, so the
   * untraced wire is the RAFT frame alone. Every member accepts both.
   */
  TracedRaft = 5,
}

export interface Frame {
  readonly type: FrameType;
  /** May view the decoder's input: decode it before that memory is reused. */
  readonly payload: Uint8Array;
  /** Bytes the frame took on the wire, header included. */
  readonly frameBytes: number;
}

export interface Hello {
  /** The message codec version the caller speaks (`MESSAGE_CODEC_VERSION`). */
  readonly protocolVersion: number;
  readonly clusterId: string;
  /** The caller's member id. */
  readonly fromId: NodeId;
  /** The member the caller meant to reach, so a readdressed pod is not mistaken for it. */
  readonly toId: NodeId;
  /**
   * The caller's own endpoints (client, HTTP, memcached, ...) as name → host:port, so
   * that members learn where to forward or redirect clients without a directory service.
   */
  readonly advertise: Readonly<Record<string, string>>;
}

/** The advertised endpoints travel as JSON text of at most this many bytes. */
export const ADVERTISE_BYTES_MAX = 1024;

/**
 * Why a callee refused. The first four are misconfigurations; the last three are about
 * identity: no member certificate of this cluster (TLS), a HELLO claiming another member
 * than the certificate names, a member id not in the callee's configuration.
 */
export type RefuseCode =
  | "cluster-mismatch" | "wrong-member" | "invalid-member" | "unsupported-version"
  | "unauthenticated" | "identity-mismatch" | "not-a-member";
// Appended only: the code travels as its index in this list.
export const REFUSE_CODES: readonly RefuseCode[] = [
  "cluster-mismatch", "wrong-member", "invalid-member", "unsupported-version", "unauthenticated", "identity-mismatch", "not-a-member",
];

export interface Refuse {
  readonly code: RefuseCode;
  readonly reason: string;
}

/**
 * A writer with the frame header in place (its length patched by `finishFrame`), so that
 * the payload is written straight into the frame: one buffer, no copy. The hint is the
 * payload's expected size.
 */
function startFrame(type: FrameType, payloadBytesHint: number): ByteWriter {
  const writer = new ByteWriter(FRAME_HEADER_BYTES + payloadBytesHint, transportEncodeError);
  writer.u32(0, "length");
  writer.u8(FRAME_VERSION);
  writer.u8(type);
  return writer;
}

function finishFrame(writer: ByteWriter): Uint8Array {
  writer.patchU32(0, writer.position - LENGTH_FIELD_BYTES);
  return writer.finish();
}

export function encodeFrame(type: FrameType, payload: Uint8Array): Uint8Array {
  const writer = startFrame(type, payload.length);
  writer.raw(payload);
  return finishFrame(writer);
}

export function encodeRaftFrame(m: Message): Uint8Array {
  const writer = startFrame(FrameType.Raft, messageBytesHint(m));
  writeMessage(writer, m);
  return finishFrame(writer);
}

/** A Raft message with the trace stamp of its send (`FrameType.TracedRaft`). */
export function encodeTracedRaftFrame(m: Message, stamp: TraceStamp): Uint8Array {
  const stampText = stampToText(stamp);
  const writer = startFrame(FrameType.TracedRaft, stampText.length + 2 + messageBytesHint(m));
  writer.string(stampText, "stamp");
  writeMessage(writer, m);
  return finishFrame(writer);
}

export interface DecodedRaftFrame {
  readonly message: Message;
  /** The sender's stamp; undefined for a RAFT frame, or a TRACED_RAFT frame whose stamp is not valid (dropped, the message is still delivered). */
  readonly stamp: TraceStamp | undefined;
}

/**
 * The message of a RAFT or TRACED_RAFT frame. Throws TransportDecodeError for malformed
 * bytes (the connection closes, as for any broken frame) but never for a bad stamp: the
 * stamp is only a picture of the run, so losing it must not cost the message.
 */
export function decodeRaftFrame(frame: Frame): DecodedRaftFrame {
  if (frame.type === FrameType.Raft) return { message: decodeMessage(frame.payload), stamp: undefined };
  const reader = new ByteReader(frame.payload, transportDecodeError("TRACED_RAFT payload"));
  const stampText = reader.string();
  return { message: decodeMessage(frame.payload.subarray(reader.position)), stamp: stampFromOptionalText(stampText) };
}

export function encodeHello(hello: Hello): Uint8Array {
  const writer = startFrame(FrameType.Hello, 64 + CLUSTER_ID_BYTES_MAX);
  writer.varint(hello.protocolVersion, "protocolVersion");
  writer.varint(hello.fromId, "fromId");
  writer.varint(hello.toId, "toId");
  if (new TextEncoder().encode(hello.clusterId).length > CLUSTER_ID_BYTES_MAX) {
    throw new TransportEncodeError("clusterId", hello.clusterId, `must be at most ${CLUSTER_ID_BYTES_MAX} UTF-8 bytes`);
  }
  writer.string(hello.clusterId, "clusterId");
  const advertise = JSON.stringify(hello.advertise);
  if (new TextEncoder().encode(advertise).length > ADVERTISE_BYTES_MAX) {
    throw new TransportEncodeError("advertise", advertise, `must be at most ${ADVERTISE_BYTES_MAX} bytes of JSON`);
  }
  writer.string(advertise, "advertise");
  return finishFrame(writer);
}

export function decodeHello(payload: Uint8Array): Hello {
  const reader = new ByteReader(payload, transportDecodeError("HELLO payload"));
  const hello = { protocolVersion: reader.varint(), fromId: reader.varint(), toId: reader.varint(), clusterId: reader.string(), advertise: parseAdvertise(reader.string()) };
  reader.expectEnd();
  return hello;
}

/** HELLO_ACK names the member that accepted, so the caller can check whom it reached. */
/** Only string values survive: the map is informational, never trusted for safety. */
function parseAdvertise(text: string): Record<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new TransportDecodeError("HELLO advertise", 0, "is not JSON");
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new TransportDecodeError("HELLO advertise", 0, "is not a JSON object");
  return Object.fromEntries(Object.entries(parsed as Record<string, unknown>).filter((entry): entry is [string, string] => typeof entry[1] === "string"));
}

export function encodeHelloAck(memberId: NodeId): Uint8Array {
  const writer = startFrame(FrameType.HelloAck, 8);
  writer.varint(memberId, "memberId");
  return finishFrame(writer);
}

export function decodeHelloAck(payload: Uint8Array): NodeId {
  const reader = new ByteReader(payload, transportDecodeError("HELLO_ACK payload"));
  const memberId = reader.varint();
  reader.expectEnd();
  return memberId;
}

export function encodeRefuse(refuse: Refuse): Uint8Array {
  const writer = startFrame(FrameType.Refuse, 8 + REFUSE_REASON_CHARS_MAX);
  writer.u8(REFUSE_CODES.indexOf(refuse.code));
  writer.string(refuse.reason.slice(0, REFUSE_REASON_CHARS_MAX), "reason");
  return finishFrame(writer);
}

export function decodeRefuse(payload: Uint8Array): Refuse {
  const reader = new ByteReader(payload, transportDecodeError("REFUSE payload"));
  const code = REFUSE_CODES[reader.u8()];
  if (code === undefined) throw reader.invalid(0, "unknown refusal code");
  const refuse = { code, reason: reader.string() };
  reader.expectEnd();
  return refuse;
}

/**
 * Cuts a byte stream into frames, whatever the chunk boundaries. `push` buffers a chunk;
 * `next` returns the next complete frame, or undefined until more bytes arrive. A header
 * announcing more than `frameBytesMax` fails at once (`FrameTooLargeError`), before its
 * bytes are buffered, so a peer cannot make this side hold more than one frame.
 *
 * After an error the stream position is lost: every later call throws the same error,
 * and the owner closes the connection. Frames may view pushed chunks: never mutate a
 * chunk after pushing it.
 */
export class FrameDecoder {
  private readonly chunks: Uint8Array[] = [];
  /** Bytes of `chunks[0]` already consumed. */
  private headOffset = 0;
  private bufferedBytes = 0;
  private failure: TransportDecodeError | undefined;

  constructor(private frameBytesMax: number) {}

  /** Applies to frames not yet returned: raised once a connection has been accepted. */
  setFrameBytesMax(frameBytesMax: number): void {
    this.frameBytesMax = frameBytesMax;
  }

  get buffered(): number {
    return this.bufferedBytes;
  }

  push(chunk: Uint8Array): void {
    if (this.failure !== undefined) throw this.failure;
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.bufferedBytes += chunk.length;
  }

  next(): Frame | undefined {
    if (this.failure !== undefined) throw this.failure;
    try {
      return this.readFrame();
    } catch (error) {
      if (error instanceof TransportDecodeError) this.failure = error;
      throw error;
    }
  }

  private readFrame(): Frame | undefined {
    if (this.bufferedBytes < 4) return undefined;
    const length = this.peekLength();
    const frameBytes = 4 + length;
    if (length < LENGTH_COUNTED_HEADER_BYTES) {
      throw new TransportDecodeError("frame", 0, `length ${length} is shorter than the version and type bytes`);
    }
    if (frameBytes > this.frameBytesMax) throw new FrameTooLargeError(frameBytes, this.frameBytesMax);
    if (this.bufferedBytes < frameBytes) return undefined;
    const frame = this.take(frameBytes);
    const version = frame[4] as number;
    const type = frame[5] as number;
    if (version !== FRAME_VERSION) {
      throw new TransportDecodeError("frame", 4, `unsupported frame version ${version} (this build speaks ${FRAME_VERSION})`);
    }
    if (typeof FrameType[type] !== "string") {
      throw new TransportDecodeError("frame", 5, `unknown frame type ${type}`);
    }
    return { type: type as FrameType, payload: frame.subarray(FRAME_HEADER_BYTES), frameBytes };
  }

  private peekLength(): number {
    let length = 0;
    let chunkIndex = 0;
    let offset = this.headOffset;
    for (let i = 0; i < 4; i++) {
      let chunk = this.chunks[chunkIndex] as Uint8Array;
      while (offset >= chunk.length) {
        chunk = this.chunks[++chunkIndex] as Uint8Array;
        offset = 0;
      }
      length = length * 256 + (chunk[offset++] as number);
    }
    return length;
  }

  /** Removes `bytes` from the buffer: a view when one chunk holds them, else a copy. */
  private take(bytes: number): Uint8Array {
    const first = this.chunks[0] as Uint8Array;
    let out: Uint8Array;
    if (first.length - this.headOffset >= bytes) {
      out = first.subarray(this.headOffset, this.headOffset + bytes);
      this.consume(bytes);
    } else {
      out = new Uint8Array(bytes);
      let filled = 0;
      while (filled < bytes) {
        const chunk = this.chunks[0] as Uint8Array;
        const part = Math.min(bytes - filled, chunk.length - this.headOffset);
        out.set(chunk.subarray(this.headOffset, this.headOffset + part), filled);
        filled += part;
        this.consume(part);
      }
    }
    return out;
  }

  private consume(bytes: number): void {
    this.headOffset += bytes;
    this.bufferedBytes -= bytes;
    if (this.headOffset === (this.chunks[0] as Uint8Array).length) {
      this.chunks.shift();
      this.headOffset = 0;
    }
  }
}
