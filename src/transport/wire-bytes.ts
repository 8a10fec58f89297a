import { TransportDecodeError, TransportEncodeError } from "./errors.js";

/**
 * Byte-level building blocks of the wire codec. Pure: no `node:` modules, no Buffer,
 * so the codec runs anywhere a Uint8Array does.
 *
 * Integers are unsigned LEB128 varints limited to 2^53 - 1 (exact in a JS number) and
 * read only in their shortest form, so one value has one encoding. The reader checks
 * every length before it reads or allocates, so malformed input fails with
 * `TransportDecodeError`, never a RangeError or an out-of-memory.
 */

/** Bytes of the longest varint: 8 groups of 7 bits cover 2^53 - 1. */
const VARINT_BYTES_MAX = 8;
const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { fatal: true });

export class WireWriter {
  private buffer: Uint8Array;
  private length = 0;

  constructor(initialBytes = 128) {
    this.buffer = new Uint8Array(initialBytes);
  }

  u8(value: number): void {
    this.reserve(1);
    this.buffer[this.length++] = value;
  }

  /** A non-negative safe integer; `field` names it in the error for anything else. */
  uint(value: number, field: string): void {
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
      throw new TransportEncodeError(field, value, "must be a non-negative safe integer");
    }
    this.reserve(VARINT_BYTES_MAX);
    let rest = value;
    while (rest >= 0x80) {
      this.buffer[this.length++] = (rest % 0x80) | 0x80;
      rest = Math.floor(rest / 0x80);
    }
    this.buffer[this.length++] = rest;
  }

  /** Length-prefixed bytes, copied in: the caller may reuse its buffer afterwards. */
  bytes(value: Uint8Array, field: string): void {
    if (!(value instanceof Uint8Array)) throw new TransportEncodeError(field, value, "must be a Uint8Array");
    this.uint(value.length, field);
    this.reserve(value.length);
    this.buffer.set(value, this.length);
    this.length += value.length;
  }

  /** Length-prefixed UTF-8. */
  string(value: string, field: string): void {
    if (typeof value !== "string") throw new TransportEncodeError(field, value, "must be a string");
    this.bytes(utf8Encoder.encode(value), field);
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

export class WireReader {
  private offset = 0;

  constructor(
    private readonly input: Uint8Array,
    /** Names the unit being read, for error messages ("RAFT payload", "HELLO payload"). */
    private readonly what: string,
  ) {}

  get remaining(): number {
    return this.input.length - this.offset;
  }

  u8(): number {
    this.need(1, "a byte");
    return this.input[this.offset++] as number;
  }

  uint(): number {
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

  /**
   * Length-prefixed bytes, copied out into a plain Uint8Array: the input may be a view of
   * a socket chunk that the caller does not own, and the message outlives it. (Not
   * `input.slice`: on a Node Buffer that returns a view, not a copy.)
   */
  bytes(): Uint8Array {
    const length = this.uint();
    this.need(length, `${length} bytes`);
    const value = new Uint8Array(this.input.subarray(this.offset, this.offset + length));
    this.offset += length;
    return value;
  }

  string(): string {
    const start = this.offset;
    const length = this.uint();
    this.need(length, `${length} bytes of text`);
    const view = this.input.subarray(this.offset, this.offset + length);
    this.offset += length;
    try {
      return utf8Decoder.decode(view);
    } catch {
      throw this.fail(start, "string is not valid UTF-8");
    }
  }

  /**
   * A count of items that each take at least `itemBytesMin` bytes: checked against the
   * bytes left before the caller allocates, so a forged count cannot exhaust memory.
   */
  count(itemBytesMin: number): number {
    const start = this.offset;
    const value = this.uint();
    if (value * itemBytesMin > this.remaining) {
      throw this.fail(start, `count ${value} cannot fit in the ${this.remaining} bytes left`);
    }
    return value;
  }

  expectEnd(): void {
    if (this.remaining !== 0) throw this.fail(this.offset, `${this.remaining} trailing bytes`);
  }

  /** The codec's error for a value found invalid at `offset`, for the caller to throw. */
  fail(offset: number, reason: string): TransportDecodeError {
    return new TransportDecodeError(this.what, offset, reason);
  }

  get position(): number {
    return this.offset;
  }

  private need(bytes: number, what: string): void {
    if (bytes > this.remaining) {
      throw this.fail(this.offset, `truncated: need ${what}, ${this.remaining} bytes left`);
    }
  }
}
