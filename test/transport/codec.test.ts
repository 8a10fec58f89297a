import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Message } from "../../src/raft/messages.js";
import { decodeMessage, encodeMessage, TransportDecodeError, TransportEncodeError } from "../../src/transport/index.js";
import { anyMessage, MESSAGE_TYPES, messageOfType, sampleMessages } from "./messages.js";

/** Calls `decode` and fails the property if it throws anything but TransportDecodeError. */
function decodesOrFailsTyped(decode: () => unknown): void {
  try {
    decode();
  } catch (error) {
    if (!(error instanceof TransportDecodeError)) throw new Error(`threw ${String(error)}, not TransportDecodeError`, { cause: error });
  }
}

describe("message codec", () => {
  for (const type of MESSAGE_TYPES) {
    it(`round-trips every ${type}: decode(encode(m)) equals m, every field`, () => {
      fc.assert(fc.property(messageOfType(type), (m) => {
        expect(decodeMessage(encodeMessage(m))).toStrictEqual(m);
      }), { numRuns: 300 });
    });
  }

  it("has one encoding per message: encode(decode(b)) equals b", () => {
    fc.assert(fc.property(anyMessage(), (m) => {
      const bytes = encodeMessage(m);
      expect(encodeMessage(decodeMessage(bytes))).toStrictEqual(bytes);
    }), { numRuns: 1_000 });
  });

  it("is compact: a heartbeat between small ids takes a handful of bytes", () => {
    const heartbeat = sampleMessages(1, 2).find((m) => m.type === "Heartbeat") as Message;
    expect(encodeMessage(heartbeat).length).toBeLessThanOrEqual(8);
  });

  it("copies byte data out, so a decoded message survives reuse of the input buffer", () => {
    const snap = sampleMessages(1, 2).find((m) => m.type === "Snap") as Extract<Message, { type: "Snap" }>;
    const bytes = encodeMessage(snap);
    const decoded = decodeMessage(bytes) as typeof snap;
    bytes.fill(0);
    expect(decoded.data).toStrictEqual(snap.data);
    expect(decoded.data.buffer).not.toBe(bytes.buffer);
  });

  it("copies out of a Node Buffer too (Buffer.slice returns a view, not a copy)", () => {
    const app = sampleMessages(1, 2).find((m) => m.type === "App") as Extract<Message, { type: "App" }>;
    const input = Buffer.from(encodeMessage(app));
    const decoded = decodeMessage(input) as typeof app;
    input.fill(0);
    expect(decoded.entries).toStrictEqual(app.entries);
  });

  it("throws only TransportDecodeError for random bytes", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 96 }), (bytes) => {
      decodesOrFailsTyped(() => decodeMessage(bytes));
    }), { numRuns: 5_000 });
  });

  it("throws only TransportDecodeError for every truncation of a valid encoding", () => {
    fc.assert(fc.property(anyMessage(), (m) => {
      const bytes = encodeMessage(m);
      for (let cut = 0; cut < bytes.length; cut++) {
        expect(() => decodeMessage(bytes.subarray(0, cut))).toThrow(TransportDecodeError);
      }
    }), { numRuns: 300 });
  });

  it("throws only TransportDecodeError for valid encodings with one byte changed", () => {
    const damaged = anyMessage().chain((m) => {
      const bytes = encodeMessage(m);
      return fc.record({ bytes: fc.constant(bytes), position: fc.nat({ max: bytes.length - 1 }), byte: fc.nat({ max: 255 }) });
    });
    fc.assert(fc.property(damaged, ({ bytes, position, byte }) => {
      const input = bytes.slice();
      input[position] = byte;
      decodesOrFailsTyped(() => decodeMessage(input));
    }), { numRuns: 3_000 });
  });

  it("rejects trailing bytes, unknown types and flag bits a type does not define", () => {
    const heartbeat = encodeMessage(sampleMessages(1, 2)[6] as Message);
    expect(() => decodeMessage(Uint8Array.of(...heartbeat, 0))).toThrow(/trailing/);
    expect(() => decodeMessage(Uint8Array.of(0, 1, 2, 3))).toThrow(/unknown message type code 0/);
    const vote = encodeMessage({ type: "Vote", from: 1, to: 2, term: 3, lastIndex: 4, lastTerm: 5, transfer: false });
    const forged = vote.slice();
    forged[4] = 0b10; // the flags byte follows type, from, to and term
    expect(() => decodeMessage(forged)).toThrow(/flags/);
  });

  it("carries a snapshot's checksum behind Snap flag bit 1; a Snap without one encodes exactly as before the field existed", () => {
    const snap = sampleMessages(1, 2).find((m) => m.type === "Snap") as Extract<Message, { type: "Snap" }>;
    const plain = encodeMessage(snap);
    const checksummed = encodeMessage({ ...snap, meta: { ...snap.meta, checksum: 0xdeadbeef } });
    // type, from, to, term (one byte each here), then the flags byte.
    expect(plain[4]).toBe(0b00);
    expect(checksummed[4]).toBe(0b10);
    // The meta ends after transferId (1), index (1), term (1), sizeBytes (2), voters (4), learners (2).
    const metaEnd = 5 + 1 + 1 + 1 + 2 + 4 + 2;
    expect([...checksummed.subarray(metaEnd, metaEnd + 4)]).toEqual([0xde, 0xad, 0xbe, 0xef]);
    expect([...checksummed.subarray(0, 4), ...checksummed.subarray(5, metaEnd), ...checksummed.subarray(metaEnd + 4)])
      .toEqual([...plain.subarray(0, 4), ...plain.subarray(5)]);
    expect(decodeMessage(checksummed)).toMatchObject({ meta: { checksum: 0xdeadbeef } });
    expect("checksum" in (decodeMessage(plain) as typeof snap).meta).toBe(false);
    expect(() => decodeMessage(checksummed.subarray(0, checksummed.length - 1))).toThrow(TransportDecodeError);
  });

  it("refuses a forged entry count before allocating for it", () => {
    // App from 1 to 2, term 1, prevIndex 0, prevTerm 0, then a count of 2^53 - 1 entries.
    const forged = Uint8Array.of(5, 1, 2, 1, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f);
    expect(() => decodeMessage(forged)).toThrow(/cannot fit/);
  });

  it("throws TransportEncodeError naming the field for a value the format cannot hold", () => {
    const bad = { type: "Heartbeat", from: 1, to: 2, term: 1, commit: -1, round: 0 } as Message;
    expect(() => encodeMessage(bad)).toThrow(TransportEncodeError);
    expect(() => encodeMessage(bad)).toThrow(/commit/);
    const fraction = { type: "Vote", from: 1, to: 2, term: 1.5, lastIndex: 0, lastTerm: 0, transfer: false } as Message;
    expect(() => encodeMessage(fraction)).toThrow(/term/);
  });
});
