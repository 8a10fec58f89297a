import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  decodeHello, decodeHelloAck, decodeMessage, decodeRefuse, encodeFrame, encodeHello, encodeHelloAck, encodeRaftFrame,
  encodeRefuse, type Frame, FRAME_HEADER_BYTES, FrameDecoder, FrameTooLargeError, FrameType, TransportDecodeError,
} from "../../src/transport/index.js";
import { anyMessage, sampleMessages } from "./messages.js";

/** Feeds `stream` to a decoder in pieces cut at `cuts` and collects every frame. */
function decodeInPieces(stream: Uint8Array, cuts: number[], frameBytesMax = 1 << 20): Frame[] {
  const decoder = new FrameDecoder(frameBytesMax);
  const frames: Frame[] = [];
  const points = [...new Set(cuts.map((cut) => cut % (stream.length + 1)))].sort((a, b) => a - b);
  let start = 0;
  for (const end of [...points, stream.length]) {
    decoder.push(stream.subarray(start, end));
    for (let frame = decoder.next(); frame !== undefined; frame = decoder.next()) frames.push(frame);
    start = end;
  }
  return frames;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** What a frame means, independent of where its bytes came from. */
const meaning = (frame: Frame): unknown => ({ type: frame.type, payload: Array.from(frame.payload), frameBytes: frame.frameBytes });

describe("frame layer", () => {
  it("lays a frame out as length u32 | version u8 | type u8 | payload", () => {
    const frame = encodeFrame(FrameType.Raft, Uint8Array.of(7, 8, 9));
    expect(Array.from(frame)).toStrictEqual([0, 0, 0, 5, 1, FrameType.Raft, 7, 8, 9]);
    expect(FRAME_HEADER_BYTES).toBe(6);
  });

  it("round-trips the handshake frames", () => {
    const hello = { protocolVersion: 1, clusterId: "prod-eu ✓", fromId: 3, toId: 1, advertise: { http: "10.0.0.3:8080" } };
    const frames = decodeInPieces(concat([encodeHello(hello), encodeHelloAck(1), encodeRefuse({ code: "wrong-member", reason: "not me" })]), []);
    expect(frames.map((f) => f.type)).toStrictEqual([FrameType.Hello, FrameType.HelloAck, FrameType.Refuse]);
    expect(decodeHello((frames[0] as Frame).payload)).toStrictEqual(hello);
    expect(decodeHelloAck((frames[1] as Frame).payload)).toBe(1);
    expect(decodeRefuse((frames[2] as Frame).payload)).toStrictEqual({ code: "wrong-member", reason: "not me" });
  });

  it("gives the same frames whatever the chunking", () => {
    const streams = fc.array(anyMessage(), { minLength: 1, maxLength: 8 }).map((messages) => ({
      messages,
      stream: concat(messages.map(encodeRaftFrame)),
    }));
    fc.assert(fc.property(streams, fc.array(fc.nat(), { maxLength: 40 }), ({ messages, stream }, cuts) => {
      const whole = decodeInPieces(stream, []);
      const pieces = decodeInPieces(stream, cuts);
      expect(pieces.map(meaning)).toStrictEqual(whole.map(meaning));
      expect(pieces.map((frame) => decodeMessage(frame.payload))).toStrictEqual(messages);
    }), { numRuns: 500 });
  });

  it("gives the same frames when fed one byte at a time", () => {
    const stream = concat(sampleMessages(1, 2).map(encodeRaftFrame));
    const cuts = Array.from({ length: stream.length }, (_, i) => i);
    expect(decodeInPieces(stream, cuts).map(meaning)).toStrictEqual(decodeInPieces(stream, []).map(meaning));
  });

  it("fails with FrameTooLargeError as soon as a header announces more than the limit", () => {
    const decoder = new FrameDecoder(100);
    decoder.push(Uint8Array.of(0, 0, 1, 0)); // 256 bytes announced; none of them sent
    expect(() => decoder.next()).toThrow(FrameTooLargeError);
    expect(() => decoder.next()).toThrow(FrameTooLargeError); // the stream is lost for good
    expect(() => decoder.push(Uint8Array.of(1))).toThrow(FrameTooLargeError);
  });

  it("applies a raised limit to the frames after the handshake", () => {
    const big = encodeFrame(FrameType.Raft, new Uint8Array(500));
    const decoder = new FrameDecoder(64);
    decoder.push(concat([encodeHelloAck(2), big]));
    expect(decoder.next()?.type).toBe(FrameType.HelloAck);
    decoder.setFrameBytesMax(1024);
    expect(decoder.next()?.frameBytes).toBe(big.length);
  });

  it("rejects an unknown version, an unknown type and a length without version and type", () => {
    const cases = [Uint8Array.of(0, 0, 0, 2, 9, FrameType.Raft), Uint8Array.of(0, 0, 0, 2, 1, 77), Uint8Array.of(0, 0, 0, 1, 1)];
    for (const bytes of cases) {
      const decoder = new FrameDecoder(1024);
      decoder.push(bytes);
      expect(() => decoder.next()).toThrow(TransportDecodeError);
    }
  });

  it("throws only TransportDecodeError for random byte streams, however they are cut", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), fc.array(fc.nat(), { maxLength: 10 }), (stream, cuts) => {
      try {
        const frames = decodeInPieces(stream, cuts, 256);
        for (const frame of frames) {
          if (frame.type === FrameType.Raft) decodeMessage(frame.payload);
          if (frame.type === FrameType.Hello) decodeHello(frame.payload);
          if (frame.type === FrameType.HelloAck) decodeHelloAck(frame.payload);
          if (frame.type === FrameType.Refuse) decodeRefuse(frame.payload);
        }
      } catch (error) {
        expect(error).toBeInstanceOf(TransportDecodeError);
      }
    }), { numRuns: 3_000 });
  });

  it("returns nothing for a truncated stream and keeps waiting for the rest", () => {
    const frame = encodeRaftFrame(sampleMessages(1, 2)[4] as never);
    const decoder = new FrameDecoder(1 << 20);
    decoder.push(frame.subarray(0, frame.length - 1));
    expect(decoder.next()).toBeUndefined();
    expect(decoder.buffered).toBe(frame.length - 1);
    decoder.push(frame.subarray(frame.length - 1));
    expect(decoder.next()?.frameBytes).toBe(frame.length);
    expect(decoder.buffered).toBe(0);
  });
});
