import type { Message, MessageType } from "../raft/messages.js";
import { type Configuration, type Entry, EntryType, type SnapshotMeta } from "../raft/types.js";
import { ByteReader, ByteWriter, type DecodeErrorFactory, type EncodeErrorFactory } from "../codec/bytes.js";
import { TransportDecodeError, TransportEncodeError } from "./errors.js";

/**
 * The binary encoding of Raft messages, carried in the payload of a RAFT frame
 * (`frames.ts`). Pure: bytes in, bytes out.
 *
 *   type u8 | from | to | term | [flags u8] | fields of the type, in declaration order
 *
 * Numbers are varints (`../codec/bytes.ts`); the booleans of a message share one flags
 * byte whose unused bits must be zero; entries are (term, index, type u8, data);
 * byte data and strings are length-prefixed. Decoding copies byte data out, checks
 * every count against the bytes left, and rejects trailing bytes, so one message has
 * exactly one encoding and malformed input fails only with `TransportDecodeError`.
 */

/** The codec's own version, announced in HELLO: bump it when this layout changes. */
export const MESSAGE_CODEC_VERSION = 1;

/** Wire codes of the message types. 0 is never used, so zeroed memory does not decode. */
const TYPE_CODES: { readonly [T in MessageType]: number } = {
  PreVote: 1, Vote: 2, PreVoteResp: 3, VoteResp: 4, App: 5, AppResp: 6,
  Heartbeat: 7, HeartbeatResp: 8, Snap: 9, SnapResp: 10, TimeoutNow: 11,
  ReadIndex: 12, ReadIndexResp: 13,
};
const TYPES_BY_CODE = new Map<number, MessageType>(
  Object.entries(TYPE_CODES).map(([type, code]) => [code, type as MessageType]),
);

/**
 * A Snap's flag bit 1 says its meta ends with `checksum u32` (SnapshotMeta.checksum): a
 * flag for an optional field, not a boolean field. Added within codec version 1: a Snap
 * without a checksum encodes as before, so members of older builds still decode every
 * message but a checksummed Snap (they refuse the unknown flag bit) during a rolling update.
 */
const SNAP_CHECKSUM_FLAG = "checksummed";

/** Names of the boolean fields of each type, in flag-bit order (bit 0 first). */
const FLAG_FIELDS: { readonly [T in MessageType]: readonly string[] } = {
  PreVote: ["transfer"], Vote: ["transfer"], PreVoteResp: ["reject"], VoteResp: ["reject"],
  App: [], AppResp: ["reject", "nonVoting"], Heartbeat: [], HeartbeatResp: ["behind", "nonVoting"],
  Snap: ["done", SNAP_CHECKSUM_FLAG], SnapResp: ["done", "reject", "nonVoting"], TimeoutNow: [],
  ReadIndex: [], ReadIndexResp: ["reject"],
};

const ENTRY_TYPES = new Set<number>([EntryType.Normal, EntryType.Noop, EntryType.ConfChange]);
/** Smallest encoded entry: term, index, type and data length, one byte each. */
const ENTRY_BYTES_MIN = 4;

/** The transport's errors for the shared byte writer and reader. */
export const transportEncodeError: EncodeErrorFactory = (field, value, requirement) => new TransportEncodeError(field, value, requirement);
export function transportDecodeError(what: string): DecodeErrorFactory {
  return (offset, reason) => new TransportDecodeError(what, offset, reason);
}
const raftPayloadDecodeError = transportDecodeError("RAFT payload");

export function encodeMessage(m: Message): Uint8Array {
  const writer = new ByteWriter(messageBytesHint(m), transportEncodeError);
  writeMessage(writer, m);
  return writer.finish();
}

/** Appends the encoding of `m`, for a caller that frames it in the same buffer. */
export function writeMessage(writer: ByteWriter, m: Message): void {
  const code = TYPE_CODES[m.type];
  if (code === undefined) throw new TransportEncodeError("type", m.type, "must be a Raft message type");
  writer.u8(code);
  writer.varint(m.from, "from");
  writer.varint(m.to, "to");
  writer.varint(m.term, "term");
  writeFlags(writer, m);
  writeFields(writer, m);
}

/**
 * About the bytes `writeMessage` takes: the data it carries plus room for the numbers
 * (an entry's term, index, type and length take about 16 bytes), so that growing is rare.
 */
export function messageBytesHint(m: Message): number {
  if (m.type === "Snap") return 64 + m.data.length;
  if (m.type === "App") {
    let total = 64;
    for (const entry of m.entries) total += entry.data.length + 16;
    return total;
  }
  return 64;
}

function writeFlags(writer: ByteWriter, m: Message): void {
  const names = FLAG_FIELDS[m.type];
  if (names.length === 0) return;
  const fields = m as unknown as Record<string, unknown>;
  let flags = 0;
  names.forEach((name, bit) => {
    const value = m.type === "Snap" && name === SNAP_CHECKSUM_FLAG ? m.meta.checksum !== undefined : fields[name];
    if (typeof value !== "boolean") throw new TransportEncodeError(name, value, "must be a boolean");
    if (value) flags |= 1 << bit;
  });
  writer.u8(flags);
}

function writeFields(w: ByteWriter, m: Message): void {
  switch (m.type) {
    case "PreVote": case "Vote":
      w.varint(m.lastIndex, "lastIndex"); w.varint(m.lastTerm, "lastTerm"); return;
    case "PreVoteResp": case "VoteResp":
      w.varint(m.commitIndex, "commitIndex"); w.varint(m.commitTerm, "commitTerm"); return;
    case "App":
      w.varint(m.prevIndex, "prevIndex"); w.varint(m.prevTerm, "prevTerm");
      writeEntries(w, m.entries);
      w.varint(m.commit, "commit"); w.varint(m.session, "session"); w.varint(m.votingBarrier, "votingBarrier");
      return;
    case "AppResp":
      w.varint(m.session, "session"); w.varint(m.index, "index");
      w.varint(m.hintIndex, "hintIndex"); w.varint(m.hintTerm, "hintTerm");
      return;
    case "Heartbeat":
      w.varint(m.commit, "commit"); w.varint(m.round, "round"); return;
    case "HeartbeatResp":
      w.varint(m.round, "round"); return;
    case "Snap":
      w.varint(m.transferId, "transferId"); writeSnapshotMeta(w, m.meta);
      w.varint(m.offset, "offset"); w.bytes(m.data, "data");
      return;
    case "SnapResp":
      w.varint(m.transferId, "transferId"); w.varint(m.nextOffset, "nextOffset"); return;
    case "TimeoutNow":
      return;
    case "ReadIndex": case "ReadIndexResp":
      w.varint(m.requestIds.length, "requestIds.length");
      for (const id of m.requestIds) w.string(id, "requestIds[]");
      if (m.type === "ReadIndexResp") w.varint(m.index, "index");
      return;
  }
}

function writeEntries(w: ByteWriter, entries: readonly Entry[]): void {
  w.varint(entries.length, "entries.length");
  for (const entry of entries) {
    w.varint(entry.term, "entries[].term");
    w.varint(entry.index, "entries[].index");
    if (!ENTRY_TYPES.has(entry.type)) throw new TransportEncodeError("entries[].type", entry.type, "must be an EntryType");
    w.u8(entry.type);
    w.bytes(entry.data, "entries[].data");
  }
}

function writeSnapshotMeta(w: ByteWriter, meta: SnapshotMeta): void {
  w.varint(meta.index, "meta.index");
  w.varint(meta.term, "meta.term");
  w.varint(meta.sizeBytes, "meta.sizeBytes");
  for (const [name, ids] of [["meta.config.voters", meta.config.voters], ["meta.config.learners", meta.config.learners]] as const) {
    w.varint(ids.length, `${name}.length`);
    for (const id of ids) w.varint(id, `${name}[]`);
  }
  if (meta.checksum !== undefined) w.u32(meta.checksum, "meta.checksum");
}

/** Decodes one message; throws `TransportDecodeError` (only) for malformed bytes. */
export function decodeMessage(bytes: Uint8Array): Message {
  const r = new ByteReader(bytes, raftPayloadDecodeError);
  const code = r.u8();
  const type = TYPES_BY_CODE.get(code);
  if (type === undefined) throw r.invalid(0, `unknown message type code ${code}`);
  const envelope = { from: r.varint(), to: r.varint(), term: r.varint() };
  const flags = readFlags(r, type);
  const message = readFields(r, type, envelope, flags);
  r.expectEnd();
  return message;
}

type Envelope = { from: number; to: number; term: number };
type Flags = (bit: number) => boolean;

function readFlags(r: ByteReader, type: MessageType): Flags {
  const count = FLAG_FIELDS[type].length;
  if (count === 0) return () => false;
  const start = r.position;
  const byte = r.u8();
  if (byte >> count !== 0) throw r.invalid(start, `flags 0x${byte.toString(16)} set bits a ${type} does not define`);
  return (bit) => (byte & (1 << bit)) !== 0;
}

function readFields(r: ByteReader, type: MessageType, e: Envelope, flag: Flags): Message {
  switch (type) {
    case "PreVote": case "Vote":
      return { type, ...e, lastIndex: r.varint(), lastTerm: r.varint(), transfer: flag(0) };
    case "PreVoteResp": case "VoteResp":
      return { type, ...e, reject: flag(0), commitIndex: r.varint(), commitTerm: r.varint() };
    case "App": {
      const prevIndex = r.varint();
      const prevTerm = r.varint();
      const entries = readEntries(r);
      return { type, ...e, prevIndex, prevTerm, entries, commit: r.varint(), session: r.varint(), votingBarrier: r.varint() };
    }
    case "AppResp":
      return {
        type, ...e, session: r.varint(), reject: flag(0), index: r.varint(),
        hintIndex: r.varint(), hintTerm: r.varint(), nonVoting: flag(1),
      };
    case "Heartbeat":
      return { type, ...e, commit: r.varint(), round: r.varint() };
    case "HeartbeatResp":
      return { type, ...e, round: r.varint(), behind: flag(0), nonVoting: flag(1) };
    case "Snap": {
      const transferId = r.varint();
      const meta = readSnapshotMeta(r, flag(1));
      return { type, ...e, transferId, meta, offset: r.varint(), data: r.bytes(), done: flag(0) };
    }
    case "SnapResp":
      return { type, ...e, transferId: r.varint(), nextOffset: r.varint(), done: flag(0), reject: flag(1), nonVoting: flag(2) };
    case "TimeoutNow":
      return { type, ...e };
    case "ReadIndex":
      return { type, ...e, requestIds: readStrings(r) };
    case "ReadIndexResp":
      return { type, ...e, requestIds: readStrings(r), index: r.varint(), reject: flag(0) };
  }
}

function readEntries(r: ByteReader): Entry[] {
  const count = r.count(ENTRY_BYTES_MIN, "entries");
  const entries: Entry[] = [];
  for (let i = 0; i < count; i++) {
    const term = r.varint();
    const index = r.varint();
    const typeAt = r.position;
    const type = r.u8();
    if (!ENTRY_TYPES.has(type)) throw r.invalid(typeAt, `unknown entry type ${type}`);
    entries.push({ term, index, type: type as EntryType, data: r.bytes() });
  }
  return entries;
}

function readSnapshotMeta(r: ByteReader, checksummed: boolean): SnapshotMeta {
  const index = r.varint();
  const term = r.varint();
  const sizeBytes = r.varint();
  const config: Configuration = { voters: readIds(r), learners: readIds(r) };
  return checksummed ? { index, term, config, sizeBytes, checksum: r.u32() } : { index, term, config, sizeBytes };
}

function readIds(r: ByteReader): number[] {
  const count = r.count(1, "member ids");
  const ids: number[] = [];
  for (let i = 0; i < count; i++) ids.push(r.varint());
  return ids;
}

function readStrings(r: ByteReader): string[] {
  const count = r.count(1, "strings");
  const strings: string[] = [];
  for (let i = 0; i < count; i++) strings.push(r.string());
  return strings;
}
