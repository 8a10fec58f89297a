/**
 * The framing of every record in a WAL segment. Bytes only, no IO.
 *
 *   offset  size  field
 *   0       4     crc32c of bytes [4, 16 + payloadBytes): the header fields and the payload
 *   4       4     payloadBytes (u32 LE)
 *   8       4     payloadBytes XOR 0xFFFFFFFF: a bit flip in the length cannot go unseen,
 *                 so a record's extent is known before its checksum is
 *   12      1     record type
 *   13      3     reserved, zero
 *   16      n     payload
 *   16+n    4     end marker 0x4B565245: every byte non-zero, so a record whose last page
 *                 was never written (zeros) is told apart from a full record that rotted
 *
 * Recovery relies on the two redundancies above: a torn write (an incomplete write,
 * zeros or end of file after it) is distinguishable from a complete record with a bad
 * checksum, which may be an entry this server acknowledged.
 */
import { crc32c } from "@node-rs/crc32";

export const RECORD_HEADER_BYTES = 16;
export const RECORD_TRAILER_BYTES = 4;
export const RECORD_OVERHEAD_BYTES = RECORD_HEADER_BYTES + RECORD_TRAILER_BYTES;
export const RECORD_END_MARKER = 0x4b565245;
/** A format limit, independent of config: an entry's data limit plus its fixed fields. */
export const RECORD_PAYLOAD_BYTES_LIMIT = 256 * 1024 * 1024 + 64;
const LENGTH_CHECK_MASK = 0xffffffff;

export enum RecordType {
  /** First record of every segment: format version and the segment's sequence number. */
  SegmentHeader = 1,
  Entry = 2,
  HardState = 3,
  /** A snapshot became durable at (index, term); may reset the log (Raft §7). */
  SnapshotMarker = 4,
}

export function isRecordType(value: number): value is RecordType {
  return value >= RecordType.SegmentHeader && value <= RecordType.SnapshotMarker;
}

export function recordBytes(payloadBytes: number): number {
  return RECORD_OVERHEAD_BYTES + payloadBytes;
}

/**
 * Writes the header and end marker around a payload already placed at
 * `offset + RECORD_HEADER_BYTES`, and returns the offset just after the record.
 */
export function sealRecord(target: Buffer, offset: number, type: RecordType, payloadBytes: number): number {
  const payloadEnd = offset + RECORD_HEADER_BYTES + payloadBytes;
  target.writeUInt32LE(payloadBytes, offset + 4);
  target.writeUInt32LE((payloadBytes ^ LENGTH_CHECK_MASK) >>> 0, offset + 8);
  target[offset + 12] = type;
  target[offset + 13] = 0;
  target[offset + 14] = 0;
  target[offset + 15] = 0;
  target.writeUInt32LE(crc32c(target.subarray(offset + 4, payloadEnd)), offset);
  target.writeUInt32LE(RECORD_END_MARKER, payloadEnd);
  return payloadEnd + RECORD_TRAILER_BYTES;
}

export interface RecordHeader {
  readonly type: RecordType;
  readonly payloadBytes: number;
}

/**
 * The header at `offset` if it is well-formed (length and its check agree, known type,
 * reserved bytes zero), else undefined. Says nothing about the checksum.
 */
export function readRecordHeader(buf: Buffer, offset: number): RecordHeader | undefined {
  if (offset + RECORD_HEADER_BYTES > buf.length) return undefined;
  const payloadBytes = buf.readUInt32LE(offset + 4);
  const check = buf.readUInt32LE(offset + 8);
  const type = buf[offset + 12] as number;
  if (((payloadBytes ^ check) >>> 0) !== LENGTH_CHECK_MASK) return undefined;
  if (payloadBytes > RECORD_PAYLOAD_BYTES_LIMIT || !isRecordType(type)) return undefined;
  if (buf[offset + 13] !== 0 || buf[offset + 14] !== 0 || buf[offset + 15] !== 0) return undefined;
  return { type, payloadBytes };
}

export type RecordBodyCheck = "ok" | "end-marker-missing" | "end-marker-wrong" | "checksum-mismatch";

/** Checks the end marker and checksum of a record whose header is well-formed and which lies inside `buf`. */
export function checkRecordBody(buf: Buffer, offset: number, payloadBytes: number): RecordBodyCheck {
  const payloadEnd = offset + RECORD_HEADER_BYTES + payloadBytes;
  const marker = buf.readUInt32LE(payloadEnd);
  if (marker === 0) return "end-marker-missing";
  if (marker !== RECORD_END_MARKER) return "end-marker-wrong";
  const stored = buf.readUInt32LE(offset);
  if (crc32c(buf.subarray(offset + 4, payloadEnd)) !== stored) return "checksum-mismatch";
  return "ok";
}

/** The payload of a record at `offset` (a view, not a copy). */
export function recordPayload(buf: Buffer, offset: number, payloadBytes: number): Buffer {
  const start = offset + RECORD_HEADER_BYTES;
  return buf.subarray(start, start + payloadBytes);
}
