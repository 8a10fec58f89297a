/**
 * The byte-level building blocks of every codec (KV commands, results and snapshots, the
 * client protocol, the peer protocol). Pure: no `node:` modules, no Buffer, so a codec
 * runs wherever a Uint8Array does (a browser client included).
 *
 * Integers are unsigned LEB128 varints up to 2^53 - 1 (exact in a JS number), read only
 * in their shortest form, and flags are exactly 0 or 1, so one value has one encoding:
 * encode(decode(bytes)) == bytes. The reader checks each length before it reads or
 * allocates, so malformed input fails with the codec's own error, never a RangeError or
 * an allocation of attacker-chosen size. Each codec injects its error classes: these
 * blocks say what is wrong, the codec says where (its class, its message format).
 */

import { InvariantError, invariant } from "../assert/invariant.js";

/** Bytes of the longest varint: 8 groups of 7 bits cover 2^53 - 1. */
const VARINT_BYTES_MAX = 8;
const UINT32_MAX = 0xffff_ffff;
const UINT64_MAX = (1n << 64n) - 1n;
/**
 * `finish` hands out the buffer itself, without a copy, when it is unused by at most this
 * many bytes or an eighth of what was written: a view keeps that much slack alive, which
 * costs less than allocating and copying the whole once more.
 */
const FINISH_SLACK_BYTES_MAX = 64;
const FINISH_SLACK_FRACTION_MAX = 1 / 8;
const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { fatal: true });
const FINISHED = new Uint8Array(0);

/** Builds the error for bytes malformed at `offset` of the input; the codec adds what it was reading. */
export type DecodeErrorFactory = (offset: number, reason: string) => Error;

/** Builds the error for a value the format cannot hold; `requirement` reads "must be ...". */
export type EncodeErrorFactory = (field: string, value: unknown, requirement: string) => Error;

/** For writers whose callers checked their values already: a bad one is a bug here. */
const brokenInvariant: EncodeErrorFactory = (field, value, requirement) =>
  new InvariantError(`an encoded ${field} ${requirement}, got ${String(value)}`);

/**
 * Writes one encoding, once. Give it a size hint near the final length: it grows by
 * doubling (a copy each time), and `finish` avoids a last copy only when the buffer is
 * (nearly) full.
 */
export class ByteWriter {
  private buffer: Uint8Array;
  private length = 0;

  constructor(
    sizeHintBytes = 64,
    private readonly fail: EncodeErrorFactory = brokenInvariant,
  ) {
    this.buffer = new Uint8Array(Math.max(sizeHintBytes, 16));
  }

  /** Bytes written so far: the offset the next byte goes to. */
  get position(): number {
    return this.length;
  }

  u8(value: number): void {
    this.reserve(1);
    this.buffer[this.length++] = value;
  }

  /** Fixed 4 bytes, big-endian. */
  u32(value: number, field = "uint32"): void {
    if (!Number.isInteger(value) || value < 0 || value > UINT32_MAX) {
      throw this.fail(field, value, "must be an integer in [0, 2^32 - 1]");
    }
    this.reserve(4);
    setU32At(this.buffer, this.length, value);
    this.length += 4;
  }

  /** Fixed 8 bytes, big-endian. */
  u64(value: bigint, field = "uint64"): void {
    if (typeof value !== "bigint" || value < 0n || value > UINT64_MAX) {
      throw this.fail(field, value, "must be a bigint in [0, 2^64 - 1]");
    }
    this.reserve(8);
    setU32At(this.buffer, this.length, Number(value >> 32n));
    setU32At(this.buffer, this.length + 4, Number(value & 0xffff_ffffn));
    this.length += 8;
  }

  varint(value: number, field = "varint"): void {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw this.fail(field, value, "must be an integer in [0, 2^53 - 1]");
    }
    this.writeVarint(value);
  }

  flag(value: boolean): void {
    this.u8(value ? 1 : 0);
  }

  /** Length-prefixed bytes, copied in: the caller may reuse its buffer afterwards. */
  bytes(value: Uint8Array, field = "bytes"): void {
    if (!(value instanceof Uint8Array)) throw this.fail(field, value, "must be a Uint8Array");
    this.writeVarint(value.length);
    this.raw(value);
  }

  /** Bytes as they are, without a length. */
  raw(value: Uint8Array): void {
    this.reserve(value.length);
    this.buffer.set(value, this.length);
    this.length += value.length;
  }

  /** Length-prefixed UTF-8. */
  string(value: string, field = "string"): void {
    if (typeof value !== "string") throw this.fail(field, value, "must be a string");
    this.bytes(utf8Encoder.encode(value), field);
  }

  /** Overwrites 4 bytes already written at `position` (a length known only at the end). */
  patchU32(position: number, value: number): void {
    invariant(this.buffer !== FINISHED && position >= 0 && position + 4 <= this.length, () =>
      `patchU32 at ${position} lies within the ${this.length} bytes written, before finish`);
    setU32At(this.buffer, position, value);
  }

  /**
   * What was written. The buffer itself when it is (nearly) full, else an exact copy.
   * The writer is spent afterwards: a later write is a bug, and throws.
   */
  finish(): Uint8Array {
    const { buffer, length } = this;
    invariant(buffer !== FINISHED, () => "a ByteWriter is finished once");
    this.buffer = FINISHED;
    const slackBytes = buffer.length - length;
    const copyAvoided = slackBytes <= FINISH_SLACK_BYTES_MAX || slackBytes <= length * FINISH_SLACK_FRACTION_MAX;
    return copyAvoided ? buffer.subarray(0, length) : buffer.slice(0, length);
  }

  /** A varint of a value already checked (or, like a length, safe by construction). */
  private writeVarint(value: number): void {
    this.reserve(VARINT_BYTES_MAX);
    let rest = value;
    while (rest >= 0x80) {
      this.buffer[this.length++] = (rest % 0x80) | 0x80;
      rest = Math.floor(rest / 0x80);
    }
    this.buffer[this.length++] = rest;
  }


  private reserve(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return;
    invariant(this.buffer !== FINISHED, () => "nothing is written to a ByteWriter after finish");
    const grown = new Uint8Array(Math.max(this.buffer.length * 2, this.length + bytes));
    grown.set(this.buffer.subarray(0, this.length));
    this.buffer = grown;
  }
}

/**
 * What `bytes()` hands out: "copies" (the default) outlive the input; "views" are valid
 * only while the input is, for a caller that is done with the values before it changes.
 */
export type ByteValues = "copies" | "views";

/** How the reason of a read that ran past the end of its input begins (the other faults are in the bytes themselves). */
export const TRUNCATED = "truncated";

/** Reads one encoding from `input`, checking every length against what is left. */
export class ByteReader {
  private offset = 0;

  constructor(
    /** What is read; never changed by the reader. */
    readonly input: Uint8Array,
    private readonly fail: DecodeErrorFactory,
    readonly values: ByteValues = "copies",
  ) {}

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

  /** Fixed 4 bytes, big-endian. */
  u32(): number {
    this.need(4, "a uint32");
    const value = u32At(this.input, this.offset);
    this.offset += 4;
    return value;
  }

  /** Fixed 8 bytes, big-endian. */
  u64(): bigint {
    this.need(8, "a uint64");
    const value = (BigInt(u32At(this.input, this.offset)) << 32n) | BigInt(u32At(this.input, this.offset + 4));
    this.offset += 8;
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

  /** A boolean stored as one byte, 0 or 1. */
  flag(): boolean {
    const start = this.offset;
    const byte = this.u8();
    if (byte > 1) throw this.fail(start, `expected a flag (0 or 1), got ${byte}`);
    return byte === 1;
  }

  /**
   * Length-prefixed bytes, copied out into a plain Uint8Array: the input may be a socket
   * chunk that is reused later, and the value outlives it. (Not `input.slice`: on a Node
   * Buffer that returns a view, not a copy.) A reader made for "views" returns bytesView().
   */
  bytes(): Uint8Array {
    if (this.values === "views") return this.bytesView();
    const length = this.varint();
    this.need(length);
    const value = new Uint8Array(this.input.subarray(this.offset, this.offset + length));
    this.offset += length;
    return value;
  }

  /**
   * Length-prefixed bytes as a view of the input, no copy: for a caller that copies them
   * where they go (a snapshot's records into the key store) before the input changes.
   */
  bytesView(): Uint8Array {
    const length = this.varint();
    this.need(length);
    const view = this.input.subarray(this.offset, this.offset + length);
    this.offset += length;
    return view;
  }

  /** Length-prefixed UTF-8, decoded straight from the input (the string is a copy anyway). */
  string(): string {
    const start = this.offset;
    const length = this.varint();
    this.need(length);
    const view = this.input.subarray(this.offset, this.offset + length);
    this.offset += length;
    try {
      return utf8Decoder.decode(view);
    } catch {
      throw this.fail(start, "string is not valid UTF-8");
    }
  }

  /**
   * A count of items that each take at least `itemBytesMin` bytes: checked against what
   * is left (and `countMax`) before the caller allocates, so a forged count cannot
   * reserve memory.
   */
  count(itemBytesMin: number, what: string, countMax = Number.MAX_SAFE_INTEGER): number {
    const start = this.offset;
    const count = this.varint();
    if (count > countMax) throw this.fail(start, `${count} ${what} is more than the limit of ${countMax}`);
    if (count * itemBytesMin > this.remaining) throw this.fail(start, `${count} ${what} cannot fit in the ${this.remaining} bytes left`);
    return count;
  }

  expectEnd(): void {
    if (this.remaining !== 0) throw this.fail(this.offset, `${this.remaining} trailing bytes`);
  }

  /** The codec's error for a value found invalid at `offset`, for the caller to throw. */
  invalid(offset: number, reason: string): Error {
    return this.fail(offset, reason);
  }


  /** Checks that `bytes` more are there; `what` names them in the error (built only on failure). */
  private need(bytes: number, what?: string): void {
    if (bytes > this.remaining) throw this.fail(this.offset, `${TRUNCATED}: need ${what ?? `${bytes} bytes`}, ${this.remaining} bytes left`);
  }
}

/** The parts one after another in one new array (a snapshot's chunks, a reply's pieces). */
export function joinBytes(parts: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const part of parts) size += part.length;
  const joined = new Uint8Array(size);
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += part.length;
  }
  return joined;
}

/** The big-endian uint32 at `offset` (the caller checked that 4 bytes are there). */
export function u32At(bytes: Uint8Array, offset: number): number {
  return (bytes[offset] as number) * 0x100_0000 + (((bytes[offset + 1] as number) << 16) | ((bytes[offset + 2] as number) << 8) | (bytes[offset + 3] as number));
}

/** Writes `value` as a big-endian uint32 at `offset` (the caller checked the value and the room). */
export function setU32At(bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = value >>> 24;
  bytes[offset + 1] = value >>> 16;
  bytes[offset + 2] = value >>> 8;
  bytes[offset + 3] = value;
}
