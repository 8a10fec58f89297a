import fc from "fast-check";
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  CLIENT_TOKEN_BYTES_MAX,
  FRAME_HEADER_BYTES,
  FrameDecoder,
  FrameTooLargeError,
  ProtocolDecodeError,
  ProtocolEncodeError,
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  type Frame,
} from "../../src/protocol/index.js";
import { request, response } from "./arbitraries.js";

const FRAME_BYTES_MAX = 1 << 20;

/** Every frame in `bytes`, delivered to the decoder in the given chunk sizes. */
function splitFrames(bytes: Uint8Array, chunkSizes: readonly number[] = [bytes.length]): Frame[] {
  const decoder = new FrameDecoder(FRAME_BYTES_MAX);
  const frames: Frame[] = [];
  let offset = 0;
  for (let i = 0; offset < bytes.length; i++) {
    const size = Math.max(1, chunkSizes[i % chunkSizes.length] ?? 1);
    decoder.push(bytes.subarray(offset, offset + size));
    offset += size;
    // Copy: a frame's payload views the decoder's buffer, valid until the next push.
    for (let f = decoder.next(); f !== undefined; f = decoder.next()) frames.push({ ...f, payload: f.payload.slice() });
  }
  return frames;
}

function only(frames: Frame[]): Frame {
  expect(frames).toHaveLength(1);
  return frames[0] as Frame;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, p) => sum + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Decoding garbage may fail, but only with the codec's own error. */
function decodeOrProtocolError(decode: () => unknown): void {
  try {
    decode();
  } catch (error) {
    if (!(error instanceof ProtocolDecodeError)) throw error;
  }
}

describe("client protocol: round trips", () => {
  it("every request decodes to itself", () => {
    fc.assert(fc.property(request, (r) => {
      expect(decodeRequest(only(splitFrames(encodeRequest(r))))).toEqual(r);
    }), { numRuns: 2000 });
  });

  it("every response decodes to itself", () => {
    fc.assert(fc.property(response, (r) => {
      expect(decodeResponse(only(splitFrames(encodeResponse(r))))).toEqual(r);
    }), { numRuns: 2000 });
  });

  it("a pipelined stream split at arbitrary points yields the same frames in order", () => {
    fc.assert(fc.property(fc.array(request, { minLength: 1, maxLength: 20 }), fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 10 }), (requests, chunks) => {
      const frames = splitFrames(concat(requests.map(encodeRequest)), chunks);
      expect(frames.map((frame) => decodeRequest(frame))).toEqual(requests);
    }), { numRuns: 300 });
  });
});

describe("client protocol: garbage never crashes", () => {
  it("random bytes fail only with ProtocolDecodeError, at the frame or the message layer", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 5 }), (bytes, chunks) => {
      decodeOrProtocolError(() => {
        for (const frame of splitFrames(bytes, chunks)) {
          decodeOrProtocolError(() => decodeRequest(frame));
          decodeOrProtocolError(() => decodeResponse(frame));
        }
      });
    }), { numRuns: 3000 });
  });

  it("a valid frame with bytes flipped decodes to a message that re-encodes to the same bytes, or fails cleanly", () => {
    const mutation = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 });
    const check = (encoded: Uint8Array, flips: [number, number][], decode: (f: Frame) => unknown, encode: (m: never) => Uint8Array): void => {
      const bytes = encoded.slice();
      // Leave the length field alone so the frame stays whole and the payload decoders are what is exercised.
      for (const [at, value] of flips) if (bytes.length > 4) bytes[4 + (at % (bytes.length - 4))] = value;
      let message: unknown;
      try {
        message = decode(only(splitFrames(bytes)));
      } catch (error) {
        if (error instanceof ProtocolDecodeError) return;
        throw error;
      }
      expect(encode(message as never)).toEqual(bytes);
    };
    fc.assert(fc.property(request, mutation, (r, flips) => check(encodeRequest(r), flips, decodeRequest, encodeRequest)), { numRuns: 3000 });
    fc.assert(fc.property(response, mutation, (r, flips) => check(encodeResponse(r), flips, decodeResponse, encodeResponse)), { numRuns: 3000 });
  });
});

describe("client protocol: frame limits", () => {
  it("refuses a frame over frameBytesMax as soon as its length arrives, before buffering it", () => {
    const decoder = new FrameDecoder(1024);
    decoder.push(new Uint8Array([0, 0, 4, 0]));
    expect(() => decoder.next()).toThrow(FrameTooLargeError);
  });

  it("refuses a length too short to hold the header", () => {
    const decoder = new FrameDecoder(1024);
    decoder.push(new Uint8Array([0, 0, 0, 2, 1, 1]));
    expect(() => decoder.next()).toThrow(/shorter than/);
  });

  it("names the request id when the version is unknown, so the error can be addressed", () => {
    const frame = encodeRequest({ kind: "status", requestId: 77 });
    frame[4] = 9;
    const decoder = new FrameDecoder(1024);
    decoder.push(frame);
    expect(() => decoder.next()).toThrow(expect.objectContaining({ requestId: 77, message: expect.stringMatching(/version 9/) }));
  });

  it("waits for a whole frame however the bytes arrive", () => {
    const frame = encodeRequest({ kind: "get", requestId: 5, key: new Uint8Array([1, 2, 3]), consistency: "linearizable" });
    const decoder = new FrameDecoder(1024);
    decoder.push(frame.subarray(0, FRAME_HEADER_BYTES));
    expect(decoder.next()).toBeUndefined();
    decoder.push(frame.subarray(FRAME_HEADER_BYTES));
    expect(decoder.next()?.requestId).toBe(5);
    expect(decoder.bufferedBytes).toBe(0);
  });

  it("refuses request id 0, a write whose stamp is not 0, and a non-write command", () => {
    expect(() => encodeRequest({ kind: "status", requestId: 0 })).toThrow(ProtocolEncodeError);
    const write = encodeRequest({ kind: "write", requestId: 1, command: { type: "flush-all" } });
    const stamped = write.slice();
    stamped[FRAME_HEADER_BYTES + 3] = 5; // varint length, version, opcode, then the stamp byte
    expect(() => decodeRequest(only(splitFrames(stamped)))).toThrow(/stamp must be 0/);
    const tick = write.slice();
    tick[FRAME_HEADER_BYTES + 2] = 2; // opcode 2 is "tick"
    expect(() => decodeRequest(only(splitFrames(tick)))).toThrow(/cannot be sent as a write/);
  });

  it("a forged count cannot make the decoder allocate for items that are not there", () => {
    const frame = encodeResponse({ kind: "list-ok", requestId: 1, revision: 1, entries: [] });
    // Patch the count (one byte, 0) to 0x7f: 127 entries announced in a payload with none.
    frame[FRAME_HEADER_BYTES + 1] = 0x7f;
    expect(() => decodeResponse(only(splitFrames(frame)))).toThrow(/cannot fit/);
  });
});

describe("client protocol: the token in HELLO", () => {
  it("a HELLO without a token is the old bytes, so servers from before tokens still read it", () => {
    const bytes = encodeRequest({ kind: "hello", requestId: 1, clientName: "c", forward: true });
    expect([...bytes.subarray(bytes.length - 1)]).toEqual([1]);
    expect(decodeRequest(only(splitFrames(bytes)))).toEqual({ kind: "hello", requestId: 1, clientName: "c", forward: true });
  });

  it("carries a token behind flag bit 1, and refuses an empty or oversized one on both sides", () => {
    const token = "a".repeat(64);
    const hello = { kind: "hello", requestId: 1, clientName: "c", forward: false, token } as const;
    expect(decodeRequest(only(splitFrames(encodeRequest(hello))))).toEqual(hello);
    expect(() => encodeRequest({ ...hello, token: "" })).toThrow(ProtocolEncodeError);
    expect(() => encodeRequest({ ...hello, token: "a".repeat(CLIENT_TOKEN_BYTES_MAX + 1) })).toThrow(/token: must be 1\.\.4096 bytes/);
    // A forged frame with the flag and an empty token is refused at the edge.
    const frame = only(splitFrames(encodeRequest({ ...hello, token: "x" })));
    const payload = frame.payload.slice(0, frame.payload.length - 1);
    payload[payload.length - 1] = 0;
    expect(() => decodeRequest({ ...frame, payload })).toThrow(/the token must be 1\.\.4096 bytes/);
  });
});

describe("client protocol: purity", () => {
  it("imports no node: module, so the codec runs anywhere a Uint8Array does", () => {
    const dir = new URL("../../src/protocol/", import.meta.url);
    for (const file of readdirSync(dir)) {
      expect(readFileSync(new URL(file, dir), "utf8"), file).not.toMatch(/from "node:|require\(/);
    }
  });
});
