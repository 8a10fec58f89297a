import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ByteReader, ByteWriter, type DecodeErrorFactory } from "../../src/codec/bytes.js";

/** The shared reader and writer of every codec (src/codec/bytes.ts), tested on their own. */

class TestDecodeError extends Error {
  constructor(readonly offset: number, readonly reason: string) {
    super(`at ${offset}: ${reason}`);
  }
}
class TestEncodeError extends Error {
  constructor(readonly field: string, readonly requirement: string) {
    super(`${field} ${requirement}`);
  }
}
const decodeError: DecodeErrorFactory = (offset, reason) => new TestDecodeError(offset, reason);
const reader = (bytes: readonly number[] | Uint8Array) => new ByteReader(Uint8Array.from(bytes), decodeError);
const writer = (sizeHintBytes = 64) => new ByteWriter(sizeHintBytes, (field, _value, requirement) => new TestEncodeError(field, requirement));

function varintBytes(value: number): number[] {
  const w = writer();
  w.varint(value, "v");
  return [...w.finish()];
}

/** A reader failure's error, for assertions on its offset and reason. */
function failure(read: () => unknown): TestDecodeError {
  try {
    read();
  } catch (error) {
    if (error instanceof TestDecodeError) return error;
    throw error;
  }
  throw new Error("expected a decode failure");
}

describe("shared byte codec: varints", () => {
  it.each([
    [0, [0x00]],
    [127, [0x7f]],
    [128, [0x80, 0x01]],
    [300, [0xac, 0x02]],
    [2 ** 32, [0x80, 0x80, 0x80, 0x80, 0x10]],
    [Number.MAX_SAFE_INTEGER, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f]],
  ])("encodes %d as unsigned LEB128 and reads it back", (value, bytes) => {
    expect(varintBytes(value)).toEqual(bytes);
    const r = reader(bytes);
    expect(r.varint()).toBe(value);
    r.expectEnd();
  });

  it("round-trips every safe non-negative integer", () => {
    fc.assert(fc.property(fc.maxSafeNat(), (value) => {
      expect(reader(varintBytes(value)).varint()).toBe(value);
    }));
  });

  it.each([-1, 0.5, Number.MAX_SAFE_INTEGER + 1, Number.NaN, Number.POSITIVE_INFINITY])("refuses to write %d, naming the field", (value) => {
    expect(() => writer().varint(value, "term")).toThrow(new TestEncodeError("term", "must be an integer in [0, 2^53 - 1]"));
  });

  it("reads a varint only in its shortest form", () => {
    expect(failure(() => reader([0x80, 0x00]).varint()).reason).toBe("varint is not in its shortest form");
    expect(failure(() => reader([0xff, 0x80, 0x00]).varint()).reason).toBe("varint is not in its shortest form");
  });

  it("refuses a varint above 2^53 - 1 and one longer than 8 bytes", () => {
    expect(failure(() => reader([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x10]).varint()).reason).toBe("varint exceeds 2^53 - 1");
    expect(failure(() => reader([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]).varint()).reason).toBe("varint longer than 8 bytes");
  });
});

describe("shared byte codec: truncation", () => {
  it.each<[string, number[], (r: ByteReader) => unknown, number, string]>([
    ["u8", [], (r) => r.u8(), 0, "truncated: need a byte, 0 bytes left"],
    ["u32", [1, 2, 3], (r) => r.u32(), 0, "truncated: need a uint32, 3 bytes left"],
    ["u64", [1, 2, 3, 4, 5, 6, 7], (r) => r.u64(), 0, "truncated: need a uint64, 7 bytes left"],
    ["varint", [0x80], (r) => r.varint(), 1, "truncated: need a byte, 0 bytes left"],
    ["bytes", [3, 1, 2], (r) => r.bytes(), 1, "truncated: need 3 bytes, 2 bytes left"],
    ["string", [2, 0x61], (r) => r.string(), 1, "truncated: need 2 bytes, 1 bytes left"],
  ])("fails a cut %s with the injected error, at the offset where reading stopped", (_name, bytes, read, offset, reason) => {
    const error = failure(() => read(reader(bytes)));
    expect(error.reason).toBe(reason);
    expect(error.offset).toBe(offset);
  });

  it("checks a count against the bytes left and its limit before anything is allocated", () => {
    expect(reader([3, 0, 0, 0]).count(1, "keys")).toBe(3);
    expect(failure(() => reader([4, 0, 0, 0]).count(1, "keys")).reason).toBe("4 keys cannot fit in the 3 bytes left");
    expect(failure(() => reader([2, 0, 0, 0, 0]).count(4, "entries")).reason).toBe("2 entries cannot fit in the 4 bytes left");
    expect(failure(() => reader([3, 0, 0, 0]).count(1, "keys", 2)).reason).toBe("3 keys is more than the limit of 2");
  });

  it("refuses trailing bytes, a flag other than 0 or 1, and invalid UTF-8", () => {
    expect(failure(() => reader([1, 2]).expectEnd()).reason).toBe("2 trailing bytes");
    expect(failure(() => reader([2]).flag()).reason).toBe("expected a flag (0 or 1), got 2");
    expect(failure(() => reader([1, 0xff]).string()).reason).toBe("string is not valid UTF-8");
  });

  it("copies bytes out, so the input may be reused", () => {
    const input = Uint8Array.of(2, 7, 8);
    const value = new ByteReader(input, decodeError).bytes();
    input.fill(0);
    expect([...value]).toEqual([7, 8]);
  });
});

describe("shared byte codec: writer", () => {
  /** Writes one of everything; the same bytes whatever the size hint. */
  function writeAll(w: ByteWriter): Uint8Array {
    w.u8(0xab);
    w.u32(0xdeadbeef, "flags");
    w.u64(0x0102030405060708n, "delta");
    w.varint(300, "revision");
    w.flag(true);
    w.bytes(new Uint8Array(1000).fill(9), "value");
    w.string("héllo", "name");
    w.raw(Uint8Array.of(1, 2, 3));
    return w.finish();
  }
  const expected = writeAll(writer(4096)).slice();

  it("reads back what it wrote", () => {
    const r = reader(expected);
    expect([r.u8(), r.u32(), r.u64(), r.varint(), r.flag()]).toEqual([0xab, 0xdeadbeef, 0x0102030405060708n, 300, true]);
    expect(r.bytes()).toEqual(new Uint8Array(1000).fill(9));
    expect(r.string()).toBe("héllo");
    expect(r.remaining).toBe(3);
  });

  it.each([0, 1, 16, 100, 1017, 1018, 1019, 1100, 4096, 1 << 20])("gives the same bytes with a size hint of %d", (sizeHintBytes) => {
    expect(writeAll(writer(sizeHintBytes))).toEqual(expected);
  });

  it("returns the buffer itself, exactly the bytes written, when it is (nearly) full", () => {
    const w = writer(8);
    for (let i = 0; i < 8; i++) w.u8(i);
    const out = w.finish();
    expect([...out]).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(out.length).toBe(8);
    expect(out.byteOffset).toBe(0);
  });

  it("copies on finish when the buffer is mostly unused, so little memory is held by a small result", () => {
    const w = writer(1 << 16);
    w.u8(1);
    const out = w.finish();
    expect([...out]).toEqual([1]);
    expect(out.buffer.byteLength).toBe(1);
  });

  it("patches a u32 written earlier (a length known at the end)", () => {
    const w = writer();
    w.u32(0, "length");
    w.raw(Uint8Array.of(5, 6));
    w.patchU32(0, w.position - 4);
    expect([...w.finish()]).toEqual([0, 0, 0, 2, 5, 6]);
    expect(() => writer().patchU32(0, 1)).toThrow(/invariant/);
  });

  it("is used once: finishing twice or writing after finish is a bug", () => {
    const w = writer();
    w.u32(1, "length");
    w.finish();
    expect(() => w.u8(2)).toThrow(/after finish/);
    expect(() => w.patchU32(0, 2)).toThrow(/before finish/);
    expect(() => w.finish()).toThrow(/finished once/);
  });

  it("refuses values the format cannot hold, with the injected error naming the field", () => {
    expect(() => writer().u32(2 ** 32, "flags")).toThrow(new TestEncodeError("flags", "must be an integer in [0, 2^32 - 1]"));
    expect(() => writer().u64(-1n, "delta")).toThrow(new TestEncodeError("delta", "must be a bigint in [0, 2^64 - 1]"));
    expect(() => writer().bytes("x" as unknown as Uint8Array, "key")).toThrow(new TestEncodeError("key", "must be a Uint8Array"));
    expect(() => writer().string(5 as unknown as string, "name")).toThrow(new TestEncodeError("name", "must be a string"));
  });

  it("without an injected error, a bad value is a broken invariant", () => {
    expect(() => new ByteWriter().varint(-1)).toThrow("invariant: an encoded varint must be an integer in [0, 2^53 - 1], got -1");
  });
});
