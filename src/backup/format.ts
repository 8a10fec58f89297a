import { invariant } from "../assert/invariant.js";
import { ByteReader, ByteWriter } from "../codec/bytes.js";
import { BackupFormatError } from "./errors.js";
import { BACKUP_LIMITS, type BackupMeta, validateBackupMeta } from "./meta.js";

/**
 * The backup file format, version 1:
 *
 *   header:  magic "KVRAFTBK" | formatVersion u8 | fieldsLength u32 | fields | headerCrc u32
 *   body:    the snapshot bytes, as the leader served them
 *   trailer: magic "KVRE" | bodyBytes u64 | bodyCrc u32 | fileCrc u32 | trailerCrc u32
 *
 * fields: clusterId | revision | raftIndex | raftTerm | voters | learners | kvraftVersion
 * | takenAtMs | bodyFormat (strings length-prefixed UTF-8, numbers varints, lists a count
 * and varints; src/codec/bytes.ts). Every checksum is CRC32C: headerCrc covers the header
 * before it, bodyCrc the body, trailerCrc the trailer before it, and fileCrc every byte
 * of the file before it, so a flipped byte anywhere fails one of them and the section
 * whose own checksum fails says where. The trailer comes last because the body is
 * streamed: its size and checksum are known only at its end. A file that ends early has
 * no trailer where the last bytes are, and is refused as truncated.
 */
export const BACKUP_MAGIC = new TextEncoder().encode("KVRAFTBK");
export const TRAILER_MAGIC = new TextEncoder().encode("KVRE");
export const BACKUP_FORMAT_VERSION = 1;
const FORMAT_VERSIONS_READ = [1];
/** magic, format version, fields length. */
export const HEADER_PREFIX_BYTES = BACKUP_MAGIC.length + 1 + 4;
const CRC_BYTES = 4;
export const TRAILER_BYTES = TRAILER_MAGIC.length + 8 + CRC_BYTES * 3;

/**
 * CRC32C of `bytes`, continuing from `previous` (the CRC of what came before; 0 to
 * start). Injected so the format stays pure: @node-rs/crc32's `crc32c` is one.
 */
export type Crc32c = (bytes: Uint8Array, previous?: number) => number;

/** What the trailer records about the body, and the file's own checksum. */
export interface BackupTrailer {
  readonly bodyBytes: number;
  readonly bodyCrc32c: number;
  readonly fileCrc32c: number;
}

/** The header section, checksum included. */
export function encodeHeader(meta: BackupMeta, crc: Crc32c): Uint8Array {
  validateBackupMeta(meta);
  const fields = new ByteWriter(256);
  fields.string(meta.clusterId);
  fields.varint(meta.revision);
  fields.varint(meta.raftIndex);
  fields.varint(meta.raftTerm);
  for (const ids of [meta.voters, meta.learners]) {
    fields.varint(ids.length);
    for (const id of ids) fields.varint(id);
  }
  fields.string(meta.kvraftVersion);
  fields.varint(meta.takenAtMs);
  fields.string(meta.bodyFormat);
  const body = fields.finish();
  invariant(body.length <= BACKUP_LIMITS.headerBytesMax, () => `validated metadata encodes within ${BACKUP_LIMITS.headerBytesMax} bytes, got ${body.length}`);
  const header = new ByteWriter(HEADER_PREFIX_BYTES + body.length + CRC_BYTES);
  header.raw(BACKUP_MAGIC);
  header.u8(BACKUP_FORMAT_VERSION);
  header.u32(body.length);
  header.raw(body);
  const withoutCrc = header.position;
  header.u32(0);
  const bytes = header.finish();
  writeU32(bytes, withoutCrc, crc(bytes.subarray(0, withoutCrc)));
  return bytes;
}

/**
 * The header's length from its first HEADER_PREFIX_BYTES bytes, after checking that they
 * open a KVRaft backup of a version this build reads.
 */
export function headerBytesFromPrefix(prefix: Uint8Array): number {
  const reader = new ByteReader(prefix, (offset, reason) => new BackupFormatError("header", offset, reason));
  for (const byte of BACKUP_MAGIC) {
    if (reader.u8() !== byte) throw new BackupFormatError("header", 0, `does not start with "KVRAFTBK": not a KVRaft backup (or its first bytes are damaged)`);
  }
  const version = reader.u8();
  if (!FORMAT_VERSIONS_READ.includes(version)) {
    throw new BackupFormatError("header", BACKUP_MAGIC.length, `format version ${version}, and this build reads ${FORMAT_VERSIONS_READ.join(", ")}: restore with the KVRaft release that wrote it, or a newer one`);
  }
  const fieldsBytes = reader.u32();
  if (fieldsBytes > BACKUP_LIMITS.headerBytesMax) {
    throw new BackupFormatError("header", BACKUP_MAGIC.length + 1, `header of ${fieldsBytes} bytes, more than the ${BACKUP_LIMITS.headerBytesMax} a backup header may hold: damaged`);
  }
  return HEADER_PREFIX_BYTES + fieldsBytes + CRC_BYTES;
}

/** The metadata of a whole header section (as long as headerBytesFromPrefix said). */
export function decodeHeader(header: Uint8Array, crc: Crc32c): BackupMeta {
  const crcAt = header.length - CRC_BYTES;
  const stored = readU32(header, crcAt);
  const computed = crc(header.subarray(0, crcAt));
  if (stored !== computed) {
    throw new BackupFormatError("header", 0, `bytes 0-${header.length - 1} fail their checksum (CRC32C ${hex32(computed)}, recorded ${hex32(stored)}): the metadata is damaged`);
  }
  const fail = (offset: number, reason: string): BackupFormatError => new BackupFormatError("header", HEADER_PREFIX_BYTES + offset, reason);
  const reader = new ByteReader(header.subarray(HEADER_PREFIX_BYTES, crcAt), fail);
  const text = (field: string): string => {
    const at = reader.position;
    const value = reader.string();
    if (new TextEncoder().encode(value).length > BACKUP_LIMITS.textBytesMax) throw fail(at, `${field} is longer than ${BACKUP_LIMITS.textBytesMax} bytes`);
    return value;
  };
  const ids = (field: string): number[] => {
    const count = reader.count(1, `${field}`, BACKUP_LIMITS.membersMax);
    return Array.from({ length: count }, () => reader.varint());
  };
  const clusterId = text("clusterId");
  const revision = reader.varint();
  const raftIndex = reader.varint();
  const raftTerm = reader.varint();
  const voters = ids("voters");
  const learners = ids("learners");
  const kvraftVersion = text("kvraftVersion");
  const takenAtMs = reader.varint();
  const bodyFormat = text("bodyFormat");
  reader.expectEnd();
  return { clusterId, revision, raftIndex, raftTerm, voters, learners, kvraftVersion, takenAtMs, bodyFormat };
}

/** The trailer for a body of `bodyBytes` with CRC `bodyCrc32c`, after `fileCrcSoFar` (every byte before the trailer). */
export function encodeTrailer(bodyBytes: number, bodyCrc32c: number, fileCrcSoFar: number, crc: Crc32c): Uint8Array {
  const writer = new ByteWriter(TRAILER_BYTES);
  writer.raw(TRAILER_MAGIC);
  writer.u64(BigInt(bodyBytes));
  writer.u32(bodyCrc32c);
  writer.u32(0);
  writer.u32(0);
  const bytes = writer.finish();
  const fileCrcAt = TRAILER_BYTES - 2 * CRC_BYTES;
  writeU32(bytes, fileCrcAt, crc(bytes.subarray(0, fileCrcAt), fileCrcSoFar));
  writeU32(bytes, fileCrcAt + CRC_BYTES, crc(bytes.subarray(0, fileCrcAt + CRC_BYTES)));
  return bytes;
}

/**
 * Reads the last TRAILER_BYTES of a file that starts at `offset`, checks it against
 * what was read before it (body size and CRC, file CRC so far), and names the first
 * section that does not add up.
 */
export function checkTrailer(trailer: Uint8Array, offset: number, seen: { bodyStart: number; bodyBytes: number; bodyCrc32c: number; fileCrcSoFar: number }, crc: Crc32c): BackupTrailer {
  const magicOk = TRAILER_MAGIC.every((byte, i) => trailer[i] === byte);
  const trailerCrcAt = TRAILER_BYTES - CRC_BYTES;
  const trailerCrcOk = readU32(trailer, trailerCrcAt) === crc(trailer.subarray(0, trailerCrcAt));
  if (!magicOk && !trailerCrcOk) {
    throw new BackupFormatError("trailer", offset, "the file does not end with a backup trailer: it is truncated (a transfer that did not finish) or damaged at its end");
  }
  if (!trailerCrcOk) throw new BackupFormatError("trailer", offset, `bytes ${offset}-${offset + TRAILER_BYTES - 1} fail their checksum: the trailer is damaged`);
  const reader = new ByteReader(trailer, (at, reason) => new BackupFormatError("trailer", offset + at, reason));
  reader.u32();
  const bodyBytes64 = reader.u64();
  const bodyCrc32c = reader.u32();
  const fileCrc32c = reader.u32();
  if (bodyBytes64 !== BigInt(seen.bodyBytes)) {
    throw new BackupFormatError("body", offset, `the trailer records a body of ${bodyBytes64} bytes, the file holds ${seen.bodyBytes}: truncated or padded in the middle`);
  }
  if (bodyCrc32c !== seen.bodyCrc32c) {
    const range = `bytes ${seen.bodyStart}-${seen.bodyStart + seen.bodyBytes - 1}`;
    throw new BackupFormatError("body", seen.bodyStart, `${range} fail their checksum (CRC32C ${hex32(seen.bodyCrc32c)}, recorded ${hex32(bodyCrc32c)}): the snapshot bytes are damaged`);
  }
  const fileCrcAt = TRAILER_BYTES - 2 * CRC_BYTES;
  const fileCrc = crc(trailer.subarray(0, fileCrcAt), seen.fileCrcSoFar);
  if (fileCrc !== fileCrc32c) throw new BackupFormatError("file", offset + fileCrcAt, `the whole-file checksum fails (CRC32C ${hex32(fileCrc)}, recorded ${hex32(fileCrc32c)})`);
  return { bodyBytes: seen.bodyBytes, bodyCrc32c, fileCrc32c };
}

export function hex32(value: number): string {
  return `0x${value.toString(16).padStart(8, "0")}`;
}

function writeU32(bytes: Uint8Array, at: number, value: number): void {
  bytes[at] = value >>> 24;
  bytes[at + 1] = value >>> 16;
  bytes[at + 2] = value >>> 8;
  bytes[at + 3] = value;
}

function readU32(bytes: Uint8Array, at: number): number {
  return (bytes[at] as number) * 0x100_0000 + (((bytes[at + 1] as number) << 16) | ((bytes[at + 2] as number) << 8) | (bytes[at + 3] as number));
}
