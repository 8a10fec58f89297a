/**
 * Reading a WAL segment's bytes into records, and saying precisely how the valid
 * records end. Pure: recovery decides what to do with the answer.
 *
 * The three ways a segment ends:
 * - clean: after the last valid record there are only zeros (preallocated space) or
 *   nothing at all.
 * - torn: what follows the last valid record is an incomplete write, and zeros or the
 *   end of the file after it: a header cut short, or a record whose last byte (the end
 *   marker's, never zero in a complete record, and no single bit flip makes it zero)
 *   was never written. A process killed mid-write leaves exactly this; nothing in it was ever
 *   acknowledged, because acknowledgement waits for the whole write and its fsync.
 * - corrupt: a complete record (or a malformed header followed by more data) that fails
 *   its checks. It may be an entry this server acknowledged, so dropping it is only safe
 *   at the very tail of the log and only with the server made non-voting (Protocol-Aware
 *   Recovery, FAST 2018); anywhere else it stops the server.
 */
import {
  RECORD_HEADER_BYTES,
  RECORD_TRAILER_BYTES,
  type RecordType,
  checkRecordBody,
  readRecordHeader,
  recordBytes,
  recordPayload,
} from "./record-format.js";

export interface ScannedRecord {
  readonly type: RecordType;
  readonly offset: number;
  readonly recordEnd: number;
  /** A view into the scanned buffer. */
  readonly payload: Buffer;
}

export type SegmentEnd =
  | { readonly kind: "clean"; readonly offset: number }
  | { readonly kind: "torn"; readonly offset: number; readonly dataEnd: number; readonly reason: string }
  | {
      readonly kind: "corrupt";
      readonly offset: number;
      readonly dataEnd: number;
      readonly reason: string;
      /** Offset of a valid record after the corrupt one, if any: then it is not a tail. */
      readonly validRecordAfter: number | undefined;
    };

export interface SegmentScan {
  readonly records: readonly ScannedRecord[];
  readonly end: SegmentEnd;
}

const ZERO_CHUNK = Buffer.alloc(4096);

/** The offset just after the last non-zero byte of `buf` at or after `from` (`from` if none). */
export function endOfNonZero(buf: Buffer, from: number): number {
  let end = buf.length;
  while (end > from) {
    const start = Math.max(from, end - ZERO_CHUNK.length);
    // Comparing whole chunks against zeros is a memcmp; preallocated space is mostly zeros.
    if (!buf.subarray(start, end).equals(ZERO_CHUNK.subarray(0, end - start))) {
      for (let i = end - 1; i >= start; i--) if (buf[i] !== 0) return i + 1;
    }
    end = start;
  }
  return from;
}

/** The offset of the first fully valid record starting in (from, limit), if any. */
export function findValidRecord(buf: Buffer, from: number, limit: number): number | undefined {
  for (let offset = from; offset + RECORD_HEADER_BYTES + RECORD_TRAILER_BYTES <= limit; offset++) {
    const header = readRecordHeader(buf, offset);
    if (header === undefined) continue;
    const end = offset + recordBytes(header.payloadBytes);
    if (end <= limit && checkRecordBody(buf, offset, header.payloadBytes) === "ok") return offset;
  }
  return undefined;
}

export function scanSegment(buf: Buffer): SegmentScan {
  const records: ScannedRecord[] = [];
  // Every valid record ends with a non-zero end marker, so valid data never reaches past this.
  const dataEnd = endOfNonZero(buf, 0);
  let offset = 0;
  while (offset < dataEnd) {
    const header = readRecordHeader(buf, offset);
    if (header === undefined) return { records, end: malformedHeaderEnd(buf, offset, dataEnd) };
    const recordEnd = offset + recordBytes(header.payloadBytes);
    if (recordEnd > buf.length) {
      const reason = `the file ends inside a record (${buf.length - offset} of ${recordEnd - offset} bytes present)`;
      return { records, end: { kind: "torn", offset, dataEnd, reason } };
    }
    // The end marker's last byte is never zero: if the data stops before it, the write never finished.
    if (dataEnd < recordEnd) {
      return { records, end: { kind: "torn", offset, dataEnd, reason: "a record was cut short (its end is zeros)" } };
    }
    const check = checkRecordBody(buf, offset, header.payloadBytes);
    if (check !== "ok") return { records, end: failedBodyEnd(buf, offset, dataEnd, check) };
    records.push({ type: header.type, offset, recordEnd, payload: recordPayload(buf, offset, header.payloadBytes) });
    offset = recordEnd;
  }
  return { records, end: { kind: "clean", offset } };
}

function malformedHeaderEnd(buf: Buffer, offset: number, dataEnd: number): SegmentEnd {
  if (offset + RECORD_HEADER_BYTES > buf.length) {
    return { kind: "torn", offset, dataEnd, reason: "the file ends inside a record header" };
  }
  if (dataEnd <= offset + RECORD_HEADER_BYTES) {
    return { kind: "torn", offset, dataEnd, reason: "a record header was cut short (zeros follow)" };
  }
  return corruptEnd(buf, offset, dataEnd, "a record header is malformed (its length check or type is wrong)");
}

function failedBodyEnd(buf: Buffer, offset: number, dataEnd: number, check: string): SegmentEnd {
  const reasons: Record<string, string> = {
    "end-marker-missing": "a complete record has no end marker",
    "end-marker-wrong": "a complete record has a damaged end marker",
    "checksum-mismatch": "a complete record failed its CRC32C",
  };
  return corruptEnd(buf, offset, dataEnd, reasons[check] ?? check);
}

function corruptEnd(buf: Buffer, offset: number, dataEnd: number, reason: string): SegmentEnd {
  const validRecordAfter = findValidRecord(buf, offset + 1, dataEnd);
  return { kind: "corrupt", offset, dataEnd, reason, validRecordAfter };
}
