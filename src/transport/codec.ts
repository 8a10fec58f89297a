import type { Message, MessageType } from "../raft/messages.js";
import { type Configuration, type Entry, EntryType, type SnapshotMeta } from "../raft/types.js";
import { TransportEncodeError } from "./errors.js";
import { WireReader, WireWriter } from "./wire-bytes.js";

/**
 * The binary encoding of Raft messages, carried in the payload of a RAFT frame
 * (`frames.ts`). Pure: bytes in, bytes out.
 *
 *   type u8 | from | to | term | [flags u8] | fields of the type, in declaration order
 *
 * Numbers are varints (`wire-bytes.ts`); the booleans of a message share one flags
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

/** Names of the boolean fields of each type, in flag-bit order (bit 0 first). */
const FLAG_FIELDS: { readonly [T in MessageType]: readonly string[] } = {
  PreVote: ["transfer"], Vote: ["transfer"], PreVoteResp: ["reject"], VoteResp: ["reject"],
  App: [], AppResp: ["reject", "nonVoting"], Heartbeat: [], HeartbeatResp: ["behind", "nonVoting"],
  Snap: ["done"], SnapResp: ["done", "reject", "nonVoting"], TimeoutNow: [],
  ReadIndex: [], ReadIndexResp: ["reject"],
};

const ENTRY_TYPES = new Set<number>([EntryType.Normal, EntryType.Noop, EntryType.ConfChange]);
/** Smallest encoded entry: term, index, type and data length, one byte each. */
const ENTRY_BYTES_MIN = 4;

export function encodeMessage(m: Message): Uint8Array {
  const code = TYPE_CODES[m.type];
  if (code === undefined) throw new TransportEncodeError("type", m.type, "must be a Raft message type");
  const writer = new WireWriter(64 + payloadBytesHint(m));
  writer.u8(code);
  writer.uint(m.from, "from");
  writer.uint(m.to, "to");
  writer.uint(m.term, "term");
  writeFlags(writer, m);
  writeFields(writer, m);
  return writer.finish();
}

function payloadBytesHint(m: Message): number {
  if (m.type === "Snap") return m.data.length;
  if (m.type === "App") {
    let total = 0;
    for (const entry of m.entries) total += entry.data.length + 16;
    return total;
  }
  return 0;
}

function writeFlags(writer: WireWriter, m: Message): void {
  const names = FLAG_FIELDS[m.type];
  if (names.length === 0) return;
  const fields = m as unknown as Record<string, unknown>;
  let flags = 0;
  names.forEach((name, bit) => {
    const value = fields[name];
    if (typeof value !== "boolean") throw new TransportEncodeError(name, value, "must be a boolean");
    if (value) flags |= 1 << bit;
  });
  writer.u8(flags);
}

function writeFields(w: WireWriter, m: Message): void {
  switch (m.type) {
    case "PreVote": case "Vote":
      w.uint(m.lastIndex, "lastIndex"); w.uint(m.lastTerm, "lastTerm"); return;
    case "PreVoteResp": case "VoteResp":
      w.uint(m.commitIndex, "commitIndex"); w.uint(m.commitTerm, "commitTerm"); return;
    case "App":
      w.uint(m.prevIndex, "prevIndex"); w.uint(m.prevTerm, "prevTerm");
      writeEntries(w, m.entries);
      w.uint(m.commit, "commit"); w.uint(m.session, "session"); w.uint(m.votingBarrier, "votingBarrier");
      return;
    case "AppResp":
      w.uint(m.session, "session"); w.uint(m.index, "index");
      w.uint(m.hintIndex, "hintIndex"); w.uint(m.hintTerm, "hintTerm");
      return;
    case "Heartbeat":
      w.uint(m.commit, "commit"); w.uint(m.round, "round"); return;
    case "HeartbeatResp":
      w.uint(m.round, "round"); return;
    case "Snap":
      w.uint(m.transferId, "transferId"); writeSnapshotMeta(w, m.meta);
      w.uint(m.offset, "offset"); w.bytes(m.data, "data");
      return;
    case "SnapResp":
      w.uint(m.transferId, "transferId"); w.uint(m.nextOffset, "nextOffset"); return;
    case "TimeoutNow":
      return;
    case "ReadIndex": case "ReadIndexResp":
      w.uint(m.requestIds.length, "requestIds.length");
      for (const id of m.requestIds) w.string(id, "requestIds[]");
      if (m.type === "ReadIndexResp") w.uint(m.index, "index");
      return;
  }
}

function writeEntries(w: WireWriter, entries: readonly Entry[]): void {
  w.uint(entries.length, "entries.length");
  for (const entry of entries) {
    w.uint(entry.term, "entries[].term");
    w.uint(entry.index, "entries[].index");
    if (!ENTRY_TYPES.has(entry.type)) throw new TransportEncodeError("entries[].type", entry.type, "must be an EntryType");
    w.u8(entry.type);
    w.bytes(entry.data, "entries[].data");
  }
}

function writeSnapshotMeta(w: WireWriter, meta: SnapshotMeta): void {
  w.uint(meta.index, "meta.index");
  w.uint(meta.term, "meta.term");
  w.uint(meta.sizeBytes, "meta.sizeBytes");
  for (const [name, ids] of [["meta.config.voters", meta.config.voters], ["meta.config.learners", meta.config.learners]] as const) {
    w.uint(ids.length, `${name}.length`);
    for (const id of ids) w.uint(id, `${name}[]`);
  }
}

/** Decodes one message; throws `TransportDecodeError` (only) for malformed bytes. */
export function decodeMessage(bytes: Uint8Array): Message {
  const r = new WireReader(bytes, "RAFT payload");
  const code = r.u8();
  const type = TYPES_BY_CODE.get(code);
  if (type === undefined) throw r.fail(0, `unknown message type code ${code}`);
  const envelope = { from: r.uint(), to: r.uint(), term: r.uint() };
  const flags = readFlags(r, type);
  const message = readFields(r, type, envelope, flags);
  r.expectEnd();
  return message;
}

type Envelope = { from: number; to: number; term: number };
type Flags = (bit: number) => boolean;

function readFlags(r: WireReader, type: MessageType): Flags {
  const count = FLAG_FIELDS[type].length;
  if (count === 0) return () => false;
  const start = r.position;
  const byte = r.u8();
  if (byte >> count !== 0) throw r.fail(start, `flags 0x${byte.toString(16)} set bits a ${type} does not define`);
  return (bit) => (byte & (1 << bit)) !== 0;
}

function readFields(r: WireReader, type: MessageType, e: Envelope, flag: Flags): Message {
  switch (type) {
    case "PreVote": case "Vote":
      return { type, ...e, lastIndex: r.uint(), lastTerm: r.uint(), transfer: flag(0) };
    case "PreVoteResp": case "VoteResp":
      return { type, ...e, reject: flag(0), commitIndex: r.uint(), commitTerm: r.uint() };
    case "App": {
      const prevIndex = r.uint();
      const prevTerm = r.uint();
      const entries = readEntries(r);
      return { type, ...e, prevIndex, prevTerm, entries, commit: r.uint(), session: r.uint(), votingBarrier: r.uint() };
    }
    case "AppResp":
      return {
        type, ...e, session: r.uint(), reject: flag(0), index: r.uint(),
        hintIndex: r.uint(), hintTerm: r.uint(), nonVoting: flag(1),
      };
    case "Heartbeat":
      return { type, ...e, commit: r.uint(), round: r.uint() };
    case "HeartbeatResp":
      return { type, ...e, round: r.uint(), behind: flag(0), nonVoting: flag(1) };
    case "Snap": {
      const transferId = r.uint();
      const meta = readSnapshotMeta(r);
      return { type, ...e, transferId, meta, offset: r.uint(), data: r.bytes(), done: flag(0) };
    }
    case "SnapResp":
      return { type, ...e, transferId: r.uint(), nextOffset: r.uint(), done: flag(0), reject: flag(1), nonVoting: flag(2) };
    case "TimeoutNow":
      return { type, ...e };
    case "ReadIndex":
      return { type, ...e, requestIds: readStrings(r) };
    case "ReadIndexResp":
      return { type, ...e, requestIds: readStrings(r), index: r.uint(), reject: flag(0) };
  }
}

function readEntries(r: WireReader): Entry[] {
  const count = r.count(ENTRY_BYTES_MIN);
  const entries: Entry[] = [];
  for (let i = 0; i < count; i++) {
    const term = r.uint();
    const index = r.uint();
    const typeAt = r.position;
    const type = r.u8();
    if (!ENTRY_TYPES.has(type)) throw r.fail(typeAt, `unknown entry type ${type}`);
    entries.push({ term, index, type: type as EntryType, data: r.bytes() });
  }
  return entries;
}

function readSnapshotMeta(r: WireReader): SnapshotMeta {
  const index = r.uint();
  const term = r.uint();
  const sizeBytes = r.uint();
  const config: Configuration = { voters: readIds(r), learners: readIds(r) };
  return { index, term, config, sizeBytes };
}

function readIds(r: WireReader): number[] {
  const count = r.count(1);
  const ids: number[] = [];
  for (let i = 0; i < count; i++) ids.push(r.uint());
  return ids;
}

function readStrings(r: WireReader): string[] {
  const count = r.count(1);
  const strings: string[] = [];
  for (let i = 0; i < count; i++) strings.push(r.string());
  return strings;
}
