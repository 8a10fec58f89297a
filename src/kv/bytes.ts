/**
 * Byte-level building blocks shared by the command, result and snapshot codecs.
 * Integers are unsigned LEB128 varints limited to 2^53 - 1 (exact in a JS number),
 * always in their shortest form, so that one value has exactly one encoding and
 * encode(decode(x)) == x. The reader checks every length before it reads, so that
 * malformed input fails with the codec's own error class, never a RangeError.
 */

/** Bytes of the longest varint: 8 groups of 7 bits cover 2^53. */
const VARINT_BYTES_MAX = 8;
const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { fatal: true });

export class ByteWriter {
  private buffer: Uint8Array;
  private view: DataView;
  private length = 0;

  constructor(initialBytes = 256) {
    this.buffer = new Uint8Array(initialBytes);
    this.view = new DataView(this.buffer.buffer);
  }

  /** Bytes written so far. */
  get size(): number {
    return this.length;
  }

  u8(value: number): void {
    this.reserve(1);
    this.buffer[this.length++] = value;
  }

  /** Fixed 4 bytes, big-endian. */
  u32(value: number): void {
    this.reserve(4);
    this.view.setUint32(this.length, value);
    this.length += 4;
  }

  /** Fixed 8 bytes, big-endian. */
  u64(value: bigint): void {
    this.reserve(8);
    this.view.setBigUint64(this.length, value);
    this.length += 8;
  }

  varint(value: number): void {
    this.reserve(VARINT_BYTES_MAX);
    let rest = value;
    while (rest >= 0x80) {
      this.buffer[this.length++] = (rest % 0x80) | 0x80;
      rest = Math.floor(rest / 0x80);
    }
    this.buffer[this.length++] = rest;
  }

  /** Length-prefixed bytes. */
  bytes(value: Uint8Array): void {
    this.varint(value.length);
    this.raw(value);
  }

  raw(value: Uint8Array): void {
    this.reserve(value.length);
    this.buffer.set(value, this.length);
    this.length += value.length;
  }

  /** Length-prefixed UTF-8. */
  string(value: string): void {
    this.bytes(utf8Encoder.encode(value));
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
    this.view = new DataView(grown.buffer);
  }
}

export type DecodeErrorFactory = (offset: number, reason: string) => Error;

export class ByteReader {
  private offset = 0;
  private readonly view: DataView;

  constructor(
    private readonly input: Uint8Array,
    private readonly fail: DecodeErrorFactory,
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

  u64(): bigint {
    this.need(8, "a uint64");
    const value = this.view.getBigUint64(this.offset);
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

  /**
   * Length-prefixed bytes, copied so that the caller may keep them after the input's
   * memory is reused. (Not `input.slice`: on a Node Buffer that returns a view.)
   */
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

  /** A boolean stored as one byte, 0 or 1. */
  flag(): boolean {
    const start = this.offset;
    const byte = this.u8();
    if (byte > 1) throw this.fail(start, `expected 0 or 1, got ${byte}`);
    return byte === 1;
  }

  expectEnd(): void {
    if (this.remaining !== 0) throw this.fail(this.offset, `${this.remaining} trailing bytes`);
  }

  /** The codec's error for a value found invalid at `offset`, for the caller to throw. */
  invalid(offset: number, reason: string): Error {
    return this.fail(offset, reason);
  }

  private need(bytes: number, what: string): void {
    if (bytes > this.remaining) {
      throw this.fail(this.offset, `truncated: need ${what}, ${this.remaining} bytes left`);
    }
  }
}

/**
 * A key as a Map key and sort key: one UTF-16 code unit per byte (latin1). Comparing
 * these strings with < compares the bytes lexicographically, which is the key order.
 */
export function keyId(key: Uint8Array): string {
  let id = "";
  // Chunks keep the argument count far below engine limits; `apply` takes the typed
  // array as it is, several times faster than spreading it.
  const chunkBytes = 4096;
  for (let start = 0; start < key.length; start += chunkBytes) {
    id += String.fromCharCode.apply(null, key.subarray(start, start + chunkBytes) as unknown as number[]);
  }
  return id;
}

export function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (prefix.length > bytes.length) return false;
  for (let i = 0; i < prefix.length; i++) {
    if (bytes[i] !== prefix[i]) return false;
  }
  return true;
}

export function concatBytes(first: Uint8Array, second: Uint8Array): Uint8Array {
  const joined = new Uint8Array(first.length + second.length);
  joined.set(first, 0);
  joined.set(second, first.length);
  return joined;
}
