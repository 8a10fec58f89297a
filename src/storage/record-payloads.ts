/**
 * The payloads of WAL records: entries, hard state, snapshot markers and segment
 * headers. Little-endian, fixed fields first. Bytes only, no IO.
 *
 *   Entry           index u64 | term u64 | entry type u8 | data
 *   HardState       term u64 | vote u64 | commit u64 | flags u8 (bit 0: nonVoting)
 *   SnapshotMarker  index u64 | term u64 | flags u8 (bit 0: the log was reset)
 *   SegmentHeader   format version u32 | segment sequence number u64
 */
import type { Entry, EntryType, HardState } from "../raft/types.js";
import { RECORD_HEADER_BYTES, RecordType, recordBytes, sealRecord } from "./record-format.js";

export const WAL_FORMAT_VERSION = 1;
export const ENTRY_FIXED_BYTES = 17;
const HARD_STATE_PAYLOAD_BYTES = 25;
const SNAPSHOT_MARKER_PAYLOAD_BYTES = 17;
const SEGMENT_HEADER_PAYLOAD_BYTES = 12;
const ENTRY_TYPE_MAX = 2;
const TWO_TO_32 = 2 ** 32;

/** A snapshot at (index, term) became durable; `logReset` says the log was discarded (Raft §7). */
export interface SnapshotMarker {
  readonly index: number;
  readonly term: number;
  readonly logReset: boolean;
}

export interface SegmentHeader {
  readonly formatVersion: number;
  readonly segmentSeq: number;
}

/** A payload passed its checksum but does not decode: written by a newer or broken writer. */
export class PayloadFormatError extends Error {
  override readonly name = "PayloadFormatError";
}

function writeU64(target: Buffer, offset: number, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new PayloadFormatError(`cannot encode ${value} as an unsigned 64-bit integer`);
  }
  target.writeUInt32LE(value % TWO_TO_32, offset);
  target.writeUInt32LE(Math.floor(value / TWO_TO_32), offset + 4);
}

function readU64(payload: Buffer, offset: number): number {
  const high = payload.readUInt32LE(offset + 4);
  // Above 2^53 a number loses precision; no valid writer produces such a value.
  if (high >= 2 ** 21) throw new PayloadFormatError(`u64 at payload offset ${offset} exceeds 2^53`);
  return high * TWO_TO_32 + payload.readUInt32LE(offset);
}

function expectLength(payload: Buffer, bytes: number, what: string): void {
  if (payload.length !== bytes) {
    throw new PayloadFormatError(`${what} payload is ${payload.length} bytes, expected ${bytes}`);
  }
}

function expectFlags(flags: number, known: number, what: string): void {
  if ((flags & ~known) !== 0) throw new PayloadFormatError(`${what} has unknown flags 0x${flags.toString(16)}`);
}

export function entryRecordBytes(entry: Entry): number {
  return recordBytes(ENTRY_FIXED_BYTES + entry.data.byteLength);
}

export function writeEntryRecord(target: Buffer, offset: number, entry: Entry): number {
  const payload = offset + RECORD_HEADER_BYTES;
  writeU64(target, payload, entry.index);
  writeU64(target, payload + 8, entry.term);
  target[payload + 16] = entry.type;
  target.set(entry.data, payload + ENTRY_FIXED_BYTES);
  return sealRecord(target, offset, RecordType.Entry, ENTRY_FIXED_BYTES + entry.data.byteLength);
}

/** Decodes an entry; `data` is a view into `payload` (copy it to keep it). */
export function decodeEntry(payload: Buffer): Entry {
  if (payload.length < ENTRY_FIXED_BYTES) throw new PayloadFormatError(`entry payload is ${payload.length} bytes`);
  const type = payload[16] as number;
  if (type > ENTRY_TYPE_MAX) throw new PayloadFormatError(`unknown entry type ${type}`);
  return {
    index: readU64(payload, 0),
    term: readU64(payload, 8),
    type: type as EntryType,
    data: payload.subarray(ENTRY_FIXED_BYTES),
  };
}

export const HARD_STATE_RECORD_BYTES = recordBytes(HARD_STATE_PAYLOAD_BYTES);

export function writeHardStateRecord(target: Buffer, offset: number, state: HardState): number {
  const payload = offset + RECORD_HEADER_BYTES;
  writeU64(target, payload, state.term);
  writeU64(target, payload + 8, state.vote);
  writeU64(target, payload + 16, state.commit);
  target[payload + 24] = state.nonVoting ? 1 : 0;
  return sealRecord(target, offset, RecordType.HardState, HARD_STATE_PAYLOAD_BYTES);
}

export function decodeHardState(payload: Buffer): HardState {
  expectLength(payload, HARD_STATE_PAYLOAD_BYTES, "hard state");
  const flags = payload[24] as number;
  expectFlags(flags, 1, "hard state");
  return {
    term: readU64(payload, 0),
    vote: readU64(payload, 8),
    commit: readU64(payload, 16),
    nonVoting: (flags & 1) !== 0,
  };
}

export const SNAPSHOT_MARKER_RECORD_BYTES = recordBytes(SNAPSHOT_MARKER_PAYLOAD_BYTES);

export function writeSnapshotMarkerRecord(target: Buffer, offset: number, marker: SnapshotMarker): number {
  const payload = offset + RECORD_HEADER_BYTES;
  writeU64(target, payload, marker.index);
  writeU64(target, payload + 8, marker.term);
  target[payload + 16] = marker.logReset ? 1 : 0;
  return sealRecord(target, offset, RecordType.SnapshotMarker, SNAPSHOT_MARKER_PAYLOAD_BYTES);
}

export function decodeSnapshotMarker(payload: Buffer): SnapshotMarker {
  expectLength(payload, SNAPSHOT_MARKER_PAYLOAD_BYTES, "snapshot marker");
  const flags = payload[16] as number;
  expectFlags(flags, 1, "snapshot marker");
  return { index: readU64(payload, 0), term: readU64(payload, 8), logReset: (flags & 1) !== 0 };
}

export const SEGMENT_HEADER_RECORD_BYTES = recordBytes(SEGMENT_HEADER_PAYLOAD_BYTES);

export function writeSegmentHeaderRecord(target: Buffer, offset: number, segmentSeq: number): number {
  const payload = offset + RECORD_HEADER_BYTES;
  target.writeUInt32LE(WAL_FORMAT_VERSION, payload);
  writeU64(target, payload + 4, segmentSeq);
  return sealRecord(target, offset, RecordType.SegmentHeader, SEGMENT_HEADER_PAYLOAD_BYTES);
}

export function decodeSegmentHeader(payload: Buffer): SegmentHeader {
  expectLength(payload, SEGMENT_HEADER_PAYLOAD_BYTES, "segment header");
  return { formatVersion: payload.readUInt32LE(0), segmentSeq: readU64(payload, 4) };
}

/** A segment header record on its own. */
export function encodeSegmentHeader(segmentSeq: number): Buffer {
  const bytes = Buffer.alloc(SEGMENT_HEADER_RECORD_BYTES);
  writeSegmentHeaderRecord(bytes, 0, segmentSeq);
  return bytes;
}

/** The hard state and snapshot marker records that follow every segment header. */
export function encodeStateRecords(hardState: HardState, marker: SnapshotMarker): Buffer {
  const bytes = Buffer.alloc(HARD_STATE_RECORD_BYTES + SNAPSHOT_MARKER_RECORD_BYTES);
  writeSnapshotMarkerRecord(bytes, writeHardStateRecord(bytes, 0, hardState), marker);
  return bytes;
}

/**
 * One write's records in one buffer: the entries, then the hard state. The hard state goes
 * last so that a write cut short keeps it only if it kept every entry before it.
 * `entryOffsets[i]` is where entry i starts; the last element is where the entries end.
 */
export function encodeUpdateRecords(entries: readonly Entry[], hardState: HardState | undefined): { bytes: Buffer; entryOffsets: number[] } {
  let size = hardState === undefined ? 0 : HARD_STATE_RECORD_BYTES;
  for (const entry of entries) size += entryRecordBytes(entry);
  // Every byte is written below: no need to zero the buffer first.
  const bytes = Buffer.allocUnsafe(size);
  const entryOffsets: number[] = [];
  let offset = 0;
  for (const entry of entries) {
    entryOffsets.push(offset);
    offset = writeEntryRecord(bytes, offset, entry);
  }
  entryOffsets.push(offset);
  if (hardState !== undefined) writeHardStateRecord(bytes, offset, hardState);
  return { bytes, entryOffsets };
}
