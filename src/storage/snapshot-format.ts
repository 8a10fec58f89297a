/**
 * The layout of a snapshot file, and reading it back with every byte checked.
 *
 *   offset  size  field
 *   0       8     magic "KVRSNAP\x01"
 *   8       4     header length H (u32 LE)
 *   12      4     crc32c of the header
 *   16      H     header: JSON {formatVersion, index, term, config, sizeBytes, blockBytes, checksum?}
 *   16+H    ...   blocks: crc32c (u32 LE) then up to blockBytes of data; the last may be short
 *
 * Per-block checksums let a sender check each chunk it reads before it replicates it,
 * and a reader check data as it streams, without holding the whole snapshot. `checksum`
 * is the CRC32C of the whole data (SnapshotMeta.checksum), which a receiving follower
 * checks a transferred snapshot against; files of older builds lack it (still version 1:
 * the field is optional both ways, as the header parser ignores keys it does not know),
 * and the full check at start computes it for them.
 */
import { crc32c } from "@node-rs/crc32";
import { readSync } from "node:fs";
import { z } from "zod";
import type { SnapshotMeta } from "../raft/types.js";
import { invariant } from "../assert/invariant.js";
import { CorruptDataError, UnsupportedFormatError, readFailure } from "./errors.js";

export const SNAPSHOT_FORMAT_VERSION = 1;
const MAGIC = Buffer.from("KVRSNAP\x01", "latin1");
const PREFIX_BYTES = 16;
const HEADER_BYTES_MAX = 16 * 1024 * 1024;
const BLOCK_CRC_BYTES = 4;

const headerSchema = z.object({
  formatVersion: z.number().int(),
  index: z.number().int().nonnegative(),
  term: z.number().int().nonnegative(),
  config: z.object({ voters: z.array(z.number().int()), learners: z.array(z.number().int()) }),
  sizeBytes: z.number().int().nonnegative(),
  blockBytes: z.number().int().positive(),
  checksum: z.number().int().min(0).max(0xffff_ffff).optional(),
});

/** Where the data of one snapshot file lies. */
export interface SnapshotLayout {
  readonly meta: SnapshotMeta;
  readonly blockBytes: number;
  /** File offset of the first block. */
  readonly dataStart: number;
}

/**
 * The header of a snapshot whose size and checksum are not known until its data is
 * written: as long as any final header can be, so that the final one (padded with
 * spaces, which JSON ignores) is written over it in place.
 */
export function reservedSnapshotHeader(meta: Omit<SnapshotMeta, "sizeBytes" | "checksum">, blockBytes: number): Buffer {
  return encodeSnapshotHeader({ ...meta, sizeBytes: Number.MAX_SAFE_INTEGER, checksum: 0xffff_ffff }, blockBytes);
}

/** A snapshot file's prefix and header; `paddedBytes` pads it to the length of a reserved one. */
export function encodeSnapshotHeader(meta: SnapshotMeta, blockBytes: number, paddedBytes?: number): Buffer {
  const text = JSON.stringify({
      formatVersion: SNAPSHOT_FORMAT_VERSION,
      index: meta.index,
      term: meta.term,
      config: { voters: [...meta.config.voters], learners: [...meta.config.learners] },
      sizeBytes: meta.sizeBytes,
      blockBytes,
      ...(meta.checksum === undefined ? {} : { checksum: meta.checksum }),
  });
  const jsonBytes = paddedBytes === undefined ? text.length : paddedBytes - PREFIX_BYTES;
  invariant(text.length <= jsonBytes, () => `a snapshot header of ${text.length} bytes fits the ${jsonBytes} reserved for it`);
  // The header is ASCII (numbers and keys only): a character is a byte.
  const json = Buffer.from(text.padEnd(jsonBytes, " "), "latin1");
  const prefix = Buffer.alloc(PREFIX_BYTES);
  MAGIC.copy(prefix, 0);
  prefix.writeUInt32LE(json.length, 8);
  prefix.writeUInt32LE(crc32c(json), 12);
  return Buffer.concat([prefix, json]);
}

export function snapshotFileBytes(layout: SnapshotLayout): number {
  const blocks = Math.ceil(layout.meta.sizeBytes / layout.blockBytes);
  return layout.dataStart + layout.meta.sizeBytes + blocks * BLOCK_CRC_BYTES;
}

/** Reads and checks the prefix and header of a snapshot file. */
export function readSnapshotLayout(fd: number, file: string): SnapshotLayout {
  const prefix = readExactly(fd, file, 0, PREFIX_BYTES);
  if (!prefix.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new CorruptDataError("the snapshot file does not start with the snapshot magic", { file, offset: 0 });
  }
  const headerBytes = prefix.readUInt32LE(8);
  if (headerBytes > HEADER_BYTES_MAX) {
    throw new CorruptDataError(`the snapshot header length ${headerBytes} is implausible`, { file, offset: 8 });
  }
  const header = readExactly(fd, file, PREFIX_BYTES, headerBytes);
  if (crc32c(header) !== prefix.readUInt32LE(12)) {
    throw new CorruptDataError("the snapshot header failed its CRC32C", { file, offset: PREFIX_BYTES });
  }
  let parsed: z.infer<typeof headerSchema>;
  try {
    parsed = headerSchema.parse(JSON.parse(header.toString("utf8")));
  } catch (error) {
    throw new CorruptDataError("the snapshot header does not parse", { file, offset: PREFIX_BYTES, cause: error });
  }
  if (parsed.formatVersion !== SNAPSHOT_FORMAT_VERSION) {
    throw new UnsupportedFormatError(file, parsed.formatVersion, SNAPSHOT_FORMAT_VERSION);
  }
  const { index, term, config, sizeBytes, blockBytes, checksum } = parsed;
  const meta: SnapshotMeta = checksum === undefined ? { index, term, config, sizeBytes } : { index, term, config, sizeBytes, checksum };
  return { meta, blockBytes, dataStart: PREFIX_BYTES + headerBytes };
}

/**
 * `length` bytes of the file from `position`, read into `into` when it is large enough (a
 * caller reading a whole file step by step reuses one buffer), else into a new one.
 * Every byte returned was read: a short file throws.
 */
function readExactly(fd: number, file: string, position: number, length: number, into?: Buffer): Buffer {
  const buffer = into !== undefined && into.length >= length ? into.subarray(0, length) : Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    let got: number;
    try {
      got = readSync(fd, buffer, done, length - done, position + done);
    } catch (error) {
      throw readFailure(error, file);
    }
    if (got === 0) {
      throw new CorruptDataError(`the snapshot file ends early (${length - done} bytes missing)`, { file, offset: position + done });
    }
    done += got;
  }
  return buffer;
}

/**
 * Data bytes [offset, offset + bytesMax) of the snapshot, every block they touch checked
 * against its CRC32C first. Synchronous: the Raft core reads chunks to send synchronously.
 */
export function readSnapshotData(fd: number, file: string, layout: SnapshotLayout, offset: number, bytesMax: number): Buffer {
  const end = Math.min(layout.meta.sizeBytes, offset + bytesMax);
  if (offset >= end) return Buffer.alloc(0);
  const B = layout.blockBytes;
  const firstBlock = Math.floor(offset / B);
  const lastBlock = Math.floor((end - 1) / B);
  const lastBlockData = Math.min(B, layout.meta.sizeBytes - lastBlock * B);
  const data = Buffer.allocUnsafe((lastBlock - firstBlock) * B + lastBlockData);
  visitCheckedBlocks(fd, file, layout, firstBlock, lastBlock, undefined, (body, block) => body.copy(data, (block - firstBlock) * B));
  const skip = offset - firstBlock * B;
  return data.subarray(skip, skip + (end - offset));
}

/**
 * The CRC32C of a snapshot's whole data, every block checked against its own CRC32C on
 * the way, read `stepBytes` of data at a time into one reused buffer: the check at start
 * reads the whole file, and a buffer per step would leave hundreds of MiB to collect.
 */
export function snapshotDataCrc(fd: number, file: string, layout: SnapshotLayout, stepBytes: number): number {
  const B = layout.blockBytes;
  const blocksPerStep = Math.max(1, Math.floor(stepBytes / B));
  const blocks = Math.ceil(layout.meta.sizeBytes / B);
  const scratch = Buffer.allocUnsafe(blocksPerStep * (B + BLOCK_CRC_BYTES));
  let dataCrc = 0;
  for (let first = 0; first < blocks; first += blocksPerStep) {
    visitCheckedBlocks(fd, file, layout, first, Math.min(blocks, first + blocksPerStep) - 1, scratch, (body) => {
      dataCrc = crc32c(body, dataCrc);
    });
  }
  return dataCrc;
}

/** Reads blocks `firstBlock`..`lastBlock` with one read and hands each body to `visit` once it passed its CRC32C. */
function visitCheckedBlocks(
  fd: number,
  file: string,
  layout: SnapshotLayout,
  firstBlock: number,
  lastBlock: number,
  scratch: Buffer | undefined,
  visit: (body: Buffer, block: number) => void,
): void {
  const B = layout.blockBytes;
  const fileStart = layout.dataStart + firstBlock * (B + BLOCK_CRC_BYTES);
  const lastBlockData = Math.min(B, layout.meta.sizeBytes - lastBlock * B);
  const fileEnd = layout.dataStart + lastBlock * (B + BLOCK_CRC_BYTES) + BLOCK_CRC_BYTES + lastBlockData;
  const raw = readExactly(fd, file, fileStart, fileEnd - fileStart, scratch);
  for (let block = firstBlock; block <= lastBlock; block++) {
    const at = (block - firstBlock) * (B + BLOCK_CRC_BYTES);
    const length = block === lastBlock ? lastBlockData : B;
    const body = raw.subarray(at + BLOCK_CRC_BYTES, at + BLOCK_CRC_BYTES + length);
    if (crc32c(body) !== raw.readUInt32LE(at)) {
      throw new CorruptDataError(`snapshot block ${block} failed its CRC32C`, { file, offset: fileStart + at });
    }
    visit(body, block);
  }
}

/** Turns a stream of data into checksummed blocks, in order; `finish` emits the last, short block. */
export class SnapshotBlockEncoder {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private dataBytesValue = 0;

  constructor(private readonly blockBytes: number) {}

  dataBytes(): number {
    return this.dataBytesValue;
  }

  /** Accepts data; returns the encoded bytes of every block it completed. */
  push(data: Uint8Array): Buffer {
    this.pending.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    this.pendingBytes += data.byteLength;
    this.dataBytesValue += data.byteLength;
    if (this.pendingBytes < this.blockBytes) return Buffer.alloc(0);
    const joined = Buffer.concat(this.pending, this.pendingBytes);
    const full = Math.floor(joined.length / this.blockBytes) * this.blockBytes;
    this.pending = [Buffer.from(joined.subarray(full))];
    this.pendingBytes = joined.length - full;
    return this.encodeBlocks(joined.subarray(0, full));
  }

  finish(): Buffer {
    const rest = Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    return this.encodeBlocks(rest);
  }

  private encodeBlocks(data: Buffer): Buffer {
    const blocks = Math.ceil(data.length / this.blockBytes);
    const out = Buffer.allocUnsafe(data.length + blocks * BLOCK_CRC_BYTES);
    let at = 0;
    for (let start = 0; start < data.length; start += this.blockBytes) {
      const body = data.subarray(start, Math.min(data.length, start + this.blockBytes));
      out.writeUInt32LE(crc32c(body), at);
      body.copy(out, at + BLOCK_CRC_BYTES);
      at += BLOCK_CRC_BYTES + body.length;
    }
    return out;
  }
}
