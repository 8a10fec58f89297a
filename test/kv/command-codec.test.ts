import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  CommandDecodeError,
  InvalidCommandError,
  KvDecodeError,
  decodeCommand,
  decodeResult,
  encodeCommand,
  encodeResult,
  type KvResult,
} from "../../src/kv/index.js";
import { anyEnvelope, utf8 } from "./helpers.js";

describe("command codec", () => {
  it("round-trips every envelope: decode(encode(e)) equals e", () => {
    fc.assert(
      fc.property(anyEnvelope(), (envelope) => {
        expect(decodeCommand(encodeCommand(envelope))).toStrictEqual(envelope);
      }),
      { numRuns: 2_000 },
    );
  });

  it("has one encoding per envelope: encode(decode(b)) equals b", () => {
    fc.assert(
      fc.property(anyEnvelope(), (envelope) => {
        const bytes = encodeCommand(envelope);
        expect(encodeCommand(decodeCommand(bytes))).toStrictEqual(bytes);
      }),
    );
  });

  it("throws only CommandDecodeError for random bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          decodeCommand(bytes);
        } catch (error) {
          expect(error).toBeInstanceOf(CommandDecodeError);
        }
      }),
      { numRuns: 5_000 },
    );
  });

  it("throws only CommandDecodeError for valid encodings with one byte changed or cut short", () => {
    const damaged = anyEnvelope().chain((envelope) => {
      const bytes = encodeCommand(envelope);
      return fc.record({
        bytes: fc.constant(bytes),
        position: fc.nat({ max: bytes.length - 1 }),
        byte: fc.nat({ max: 255 }),
        cut: fc.boolean(),
      });
    });
    fc.assert(
      fc.property(damaged, ({ bytes, position, byte, cut }) => {
        const input = cut ? bytes.subarray(0, position) : bytes.slice();
        if (!cut) input[position] = byte;
        try {
          decodeCommand(input);
        } catch (error) {
          expect(error).toBeInstanceOf(CommandDecodeError);
        }
      }),
      { numRuns: 5_000 },
    );
  });

  const put = encodeCommand({ stampMs: 5, command: { type: "put", key: utf8("k"), value: utf8("v") } });
  const malformed: { name: string; bytes: Uint8Array; reason: RegExp }[] = [
    { name: "empty input", bytes: new Uint8Array(0), reason: /truncated/ },
    { name: "an unknown format version", bytes: Uint8Array.of(2, ...put.subarray(1)), reason: /format version 2/ },
    { name: "an unknown opcode", bytes: Uint8Array.of(1, 200, 0, 0), reason: /opcode 200/ },
    { name: "a session on register-session", bytes: Uint8Array.of(1, 0, 0, 1, 1, 1, 1), reason: /bits 0x1 not allowed/ },
    { name: "a varint not in its shortest form", bytes: Uint8Array.of(1, 2, 0x80, 0x00, 0), reason: /shortest form/ },
    { name: "a varint over 8 bytes", bytes: Uint8Array.of(1, 2, ...new Array(9).fill(0xff), 0), reason: /longer than 8/ },
    { name: "a stamp above 2^52", bytes: Uint8Array.of(1, 2, 0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x08, 0), reason: /above 2\^52/ },
    { name: "trailing bytes", bytes: Uint8Array.of(...put, 0), reason: /1 trailing bytes/ },
    { name: "a key length past the end", bytes: Uint8Array.of(1, 3, 5, 0, 100, 1), reason: /truncated: need 100 bytes/ },
  ];
  it.each(malformed)("rejects $name with CommandDecodeError", ({ bytes, reason }) => {
    expect(() => decodeCommand(bytes)).toThrow(CommandDecodeError);
    expect(() => decodeCommand(bytes)).toThrow(reason);
  });

  const invalid: { name: string; envelope: Parameters<typeof encodeCommand>[0]; field: string }[] = [
    { name: "a negative stamp", envelope: { stampMs: -1, command: { type: "tick" } }, field: "stampMs" },
    { name: "a stamp above 2^52", envelope: { stampMs: 2 ** 52 + 1, command: { type: "tick" } }, field: "stampMs" },
    {
      name: "flags of 2^32",
      envelope: { stampMs: 0, command: { type: "put", key: utf8("k"), value: utf8(""), flags: 2 ** 32 } },
      field: "flags",
    },
    {
      name: "a fractional ttl",
      envelope: { stampMs: 0, command: { type: "touch", key: utf8("k"), ttlMs: 1.5 } },
      field: "ttlMs",
    },
    {
      name: "a delta of 2^64",
      envelope: { stampMs: 0, command: { type: "incr", key: utf8("k"), delta: 2n ** 64n } },
      field: "delta",
    },
    {
      name: "a negative seq",
      envelope: { stampMs: 0, command: { type: "flush-all", session: { sessionId: 1, seq: -1, lowestUnackedSeq: 0 } } },
      field: "session.seq",
    },
  ];
  it.each(invalid)("refuses to encode $name with InvalidCommandError naming the field", ({ envelope, field }) => {
    expect(() => encodeCommand(envelope)).toThrow(InvalidCommandError);
    try {
      encodeCommand(envelope);
    } catch (error) {
      expect((error as InvalidCommandError).field).toBe(field);
    }
  });
});

describe("result codec", () => {
  const results: KvResult[] = [
    { ok: true, kind: "session-registered", revision: 3, sessionId: 3 },
    { ok: true, kind: "session-closed", revision: 4 },
    { ok: true, kind: "ticked", revision: 5 },
    { ok: true, kind: "stored", revision: 6, version: 6, createVersion: 2 },
    { ok: true, kind: "touched", revision: 7, version: 6 },
    { ok: true, kind: "touched", revision: 7, version: 6, expiresAtMs: 1_700_000_000_000 },
    { ok: true, kind: "deleted", revision: 8, previousVersion: 6 },
    { ok: true, kind: "counter", revision: 9, version: 9, value: 2n ** 64n - 1n },
    { ok: true, kind: "flushed", revision: 10, deletedCount: 12 },
    { ok: false, revision: 11, error: "version-mismatch", message: "expected 3, got 4 — ü", currentVersion: 4 },
    { ok: false, revision: 12, error: "too-many-pending", message: "" },
  ];
  it.each(results)("round-trips a $kind$error result", (result) => {
    expect(decodeResult(encodeResult(result))).toStrictEqual(result);
  });

  it("throws only KvDecodeError for random bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 32 }), (bytes) => {
        try {
          decodeResult(bytes);
        } catch (error) {
          expect(error).toBeInstanceOf(KvDecodeError);
        }
      }),
      { numRuns: 3_000 },
    );
  });
});
