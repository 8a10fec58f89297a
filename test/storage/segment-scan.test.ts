/** The record framing and the segment scanner: how a segment's valid records end. */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { EntryType } from "../../src/raft/types.js";
import { RECORD_HEADER_BYTES, RecordType } from "../../src/storage/record-format.js";
import {
  decodeEntry,
  decodeHardState,
  encodeSegmentHeader,
  entryRecordBytes,
  writeEntryRecord,
  writeHardStateRecord,
} from "../../src/storage/record-payloads.js";
import { endOfNonZero, scanSegment } from "../../src/storage/segment-scan.js";

function segmentOf(dataSizes: readonly number[]): { bytes: Buffer; ends: number[] } {
  const header = encodeSegmentHeader(1);
  const entries = dataSizes.map((size, i) => ({ index: i + 1, term: 1, type: EntryType.Normal, data: Buffer.alloc(size, i + 1) }));
  const bytes = Buffer.alloc(header.length + entries.reduce((sum, e) => sum + entryRecordBytes(e), 0));
  header.copy(bytes);
  const ends = [header.length];
  let offset = header.length;
  for (const entry of entries) {
    offset = writeEntryRecord(bytes, offset, entry);
    ends.push(offset);
  }
  return { bytes, ends };
}

describe("record framing", () => {
  it("round-trips entries and hard state", () => {
    fc.assert(
      fc.property(fc.nat({ max: 2 ** 53 - 1 }), fc.integer({ min: 1, max: 2 ** 40 }), fc.uint8Array({ maxLength: 300 }), (index, term, data) => {
        const entry = { index, term, type: EntryType.ConfChange, data };
        const bytes = Buffer.alloc(entryRecordBytes(entry));
        writeEntryRecord(bytes, 0, entry);
        const scan = scanSegment(bytes);
        expect(scan.records).toHaveLength(1);
        expect(scan.records[0]?.type).toBe(RecordType.Entry);
        const decoded = decodeEntry(scan.records[0]?.payload as Buffer);
        expect({ ...decoded, data: Buffer.from(decoded.data) }).toEqual({ ...entry, data: Buffer.from(data) });
      }),
    );
    const state = { term: 7, vote: 3, commit: 2 ** 40, nonVoting: true };
    const bytes = Buffer.alloc(64);
    const end = writeHardStateRecord(bytes, 0, state);
    expect(decodeHardState(bytes.subarray(RECORD_HEADER_BYTES, end - 4))).toEqual(state);
  });
});

describe("scanSegment", () => {
  it("ends clean at the last record, with or without zeros after it", () => {
    const { bytes, ends } = segmentOf([10, 0, 300]);
    expect(scanSegment(bytes).end).toEqual({ kind: "clean", offset: ends[3] });
    expect(scanSegment(Buffer.concat([bytes, Buffer.alloc(5000)])).end).toEqual({ kind: "clean", offset: ends[3] });
  });

  it("stops before any prefix of the last record, cut short or zero-filled (torn, or clean if only zeros were written)", () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 200 }), { minLength: 1, maxLength: 8 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.boolean(), (sizes, where, zeros) => {
        const { bytes, ends } = segmentOf(sizes);
        const start = ends[ends.length - 2] as number;
        const end = ends[ends.length - 1] as number;
        const cut = Math.min(end - 1, start + 1 + Math.floor(where * (end - start - 1)));
        const damaged = zeros ? Buffer.from(bytes).fill(0, cut, end) : bytes.subarray(0, cut);
        const scan = scanSegment(damaged);
        expect(scan.records).toHaveLength(sizes.length);
        expect(scan.end.offset).toBe(start);
        // A prefix whose written bytes happen to be zeros cannot be told from unwritten space.
        const writtenIsZeros = damaged.subarray(start, cut).every((byte) => byte === 0);
        expect(scan.end.kind).toBe(writtenIsZeros ? "clean" : "torn");
      }),
    );
  });

  it("calls a bit flip in a complete record corrupt, and says whether valid records follow", () => {
    const { bytes, ends } = segmentOf([50, 50, 50]);
    const lastStart = ends[2] as number;
    const flippedLast = Buffer.from(bytes);
    flippedLast[lastStart + 30] = (flippedLast[lastStart + 30] as number) ^ 4;
    const tail = scanSegment(flippedLast).end;
    expect(tail).toMatchObject({ kind: "corrupt", offset: lastStart, validRecordAfter: undefined });

    const middleStart = ends[1] as number;
    const flippedMiddle = Buffer.from(bytes);
    flippedMiddle[middleStart + 5] = (flippedMiddle[middleStart + 5] as number) ^ 1; // the length field
    expect(scanSegment(flippedMiddle).end).toMatchObject({ kind: "corrupt", offset: middleStart, validRecordAfter: ends[2] });
  });

  it("finds the end of non-zero data", () => {
    const buffer = Buffer.alloc(20000);
    expect(endOfNonZero(buffer, 0)).toBe(0);
    buffer[12345] = 1;
    expect(endOfNonZero(buffer, 0)).toBe(12346);
    expect(endOfNonZero(buffer, 13000)).toBe(13000);
  });
});
