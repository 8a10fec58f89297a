import { ProtocolEncodeError } from "./errors.js";

/**
 * Byte-level building blocks of the client protocol. Pure: no `node:` modules, no
 * Buffer, so the codec runs wherever a Uint8Array does (a browser client included).
 *
 * Integers are unsigned LEB128 varints up to 2^53 - 1 (exact in a JS number), accepted
 * only in their shortest form, and booleans are exactly 0 or 1, so every message has
 * one encoding: encode(decode(bytes)) == bytes. The reader checks each length before it
 * reads or allocates, so malformed input fails with the codec's error, never a
 * RangeError or an allocation of attacker-chosen size.
 */

/** Bytes of the longest varint: 8 groups of 7 bits cover 2^53 - 1. */
const VARINT_BYTES_MAX = 8;
const UINT32_MAX = 0xffff_ffff;
const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { fatal: true });

export class WireWriter {
  private buffer: Uint8Array;
  private length = 0;

  constructor(initialBytes = 64) {
    this.buffer = new Uint8Array(initialBytes);
  }

  get byteLength(): number {
    return this.length;
  }

  u8(value: number): void {
    this.reserve(1);
    this.buffer[this.length++] = value;
  }

  /** Fixed 4 bytes, big-endian. */
  u32(value: number, field: string): void {
    if (!Number.isInteger(value) || value < 0 || value > UINT32_MAX) {
      throw new ProtocolEncodeError(field, `must be an integer in [0, 2^32 - 1], got ${value}`);
    }
    this.reserve(4);
    new DataView(this.buffer.buffer).setUint32(this.length, value);
    this.length += 4;
  }

  varint(value: number, field: string): void {
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
      throw new ProtocolEncodeError(field, `must be an integer in [0, 2^53 - 1], got ${String(value)}`);
    }
    this.reserve(VARINT_BYTES_MAX);
    let rest = value;
    while (rest >= 0x80) {
      this.buffer[this.length++] = (rest % 0x80) | 0x80;
      rest = Math.floor(rest / 0x80);
    }
    this.buffer[this.length++] = rest;
  }

  flag(value: boolean): void {
    this.u8(value ? 1 : 0);
  }

  /** Length-prefixed bytes. */
  bytes(value: Uint8Array, field: string): void {
    this.varint(value.length, `${field}.length`);
    this.reserve(value.length);
    this.buffer.set(value, this.length);
    this.length += value.length;
  }

  /** Length-prefixed UTF-8. */
  string(value: string, field: string): void {
    this.bytes(utf8Encoder.encode(value), field);
  }

  /** Overwrites 4 bytes already written at `position` (a length known only at the end). */
  patchU32(position: number, value: number): void {
    if (position + 4 > this.length) throw new ProtocolEncodeError("patch", `position ${position} is past the ${this.length} bytes written`);
    new DataView(this.buffer.buffer).setUint32(position, value);
  }

  /** A copy of what was written, exactly sized. */
  finish(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }

  private reserve(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return;
    const grown = new Uint8Array(Math.max(this.buffer.length * 2, this.length + bytes));
    grown.set(this.buffer.subarray(0, this.length));
    this.buffer = grown;
  }
}

export type DecodeFailure = (offset: number, reason: string) => Error;

export class WireReader {
  private offset = 0;
  private readonly view: DataView;

  constructor(
    private readonly input: Uint8Array,
    /** Builds the error for a failure at `offset` of `input` (the caller adds context). */
    readonly fail: DecodeFailure,
  ) {
    this.view = new DataView(input.buffer, input.byteOffset, input.byteLength);
  }

  get remaining(): number {
    return this.input.length - this.offset;
  }

  get position(): number {
    return this.offset;
  }

  u8(): number {
    this.need(1, "a byte");
    return this.input[this.offset++] as number;
  }

  u32(): number {
    this.need(4, "a uint32");
    const value = this.view.getUint32(this.offset);
    this.offset += 4;
    return value;
  }

  varint(): number {
    const start = this.offset;
    let value = 0;
    let scale = 1;
    for (let i = 0; i < VARINT_BYTES_MAX; i++) {
      const byte = this.u8();
      value += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) {
        if (i > 0 && byte === 0) throw this.fail(start, "varint is not in its shortest form");
        if (value > Number.MAX_SAFE_INTEGER) throw this.fail(start, "varint exceeds 2^53 - 1");
        return value;
      }
      scale *= 0x80;
    }
    throw this.fail(start, `varint longer than ${VARINT_BYTES_MAX} bytes`);
  }

  flag(): boolean {
    const start = this.offset;
    const byte = this.u8();
    if (byte > 1) throw this.fail(start, `expected a flag (0 or 1), got ${byte}`);
    return byte === 1;
  }

  /** Length-prefixed bytes, copied: the input is a socket buffer that will be reused. */
  bytes(): Uint8Array {
    const length = this.varint();
    this.need(length, `${length} bytes`);
    const value = new Uint8Array(this.input.subarray(this.offset, this.offset + length));
    this.offset += length;
    return value;
  }

  string(): string {
    const start = this.offset;
    const bytes = this.bytes();
    try {
      return utf8Decoder.decode(bytes);
    } catch {
      throw this.fail(start, "string is not valid UTF-8");
    }
  }

  /**
   * A count of items that each take at least `itemBytesMin` bytes: checked against what
   * is left before anything is allocated, so a forged count cannot reserve memory.
   */
  count(itemBytesMin: number, countMax: number, what: string): number {
    const start = this.offset;
    const count = this.varint();
    if (count > countMax) throw this.fail(start, `${count} ${what} is more than the limit of ${countMax}`);
    if (count * itemBytesMin > this.remaining) throw this.fail(start, `${count} ${what} cannot fit in the ${this.remaining} bytes left`);
    return count;
  }

  expectEnd(): void {
    if (this.remaining !== 0) throw this.fail(this.offset, `${this.remaining} trailing bytes`);
  }

  private need(bytes: number, what: string): void {
    if (bytes > this.remaining) throw this.fail(this.offset, `truncated: need ${what}, ${this.remaining} bytes left`);
  }
}
