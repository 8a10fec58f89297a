/** Raft messages for transport tests: fast-check arbitraries over every field, and fixed samples. */
import fc from "fast-check";
import type { Message, MessageType } from "../../src/raft/messages.js";
import { type Entry, EntryType, type NodeId, type SnapshotMeta } from "../../src/raft/types.js";

export const MESSAGE_TYPES: readonly MessageType[] = [
  "PreVote", "Vote", "PreVoteResp", "VoteResp", "App", "AppResp", "Heartbeat", "HeartbeatResp",
  "Snap", "SnapResp", "TimeoutNow", "ReadIndex", "ReadIndexResp",
];

/** Records with ordinary prototypes, so that decoded messages compare strictly equal. */
function record<T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> {
  return fc.record(model, { noNullPrototype: true }) as fc.Arbitrary<T>;
}

/** Small numbers (the common case, one-byte varints) and the full safe range. */
const uint = (): fc.Arbitrary<number> => fc.oneof(fc.nat({ max: 300 }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }));
const id = (): fc.Arbitrary<NodeId> => fc.oneof(fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }));
const bytes = (maxLength = 64): fc.Arbitrary<Uint8Array> => fc.uint8Array({ maxLength });

const entry = (): fc.Arbitrary<Entry> => record({
  term: uint(),
  index: uint(),
  type: fc.constantFrom(EntryType.Normal, EntryType.Noop, EntryType.ConfChange),
  data: bytes(),
});

const snapshotMeta = (): fc.Arbitrary<SnapshotMeta> => fc.record({
  index: uint(),
  term: uint(),
  config: record({ voters: fc.array(id(), { maxLength: 7 }), learners: fc.array(id(), { maxLength: 3 }) }),
  sizeBytes: uint(),
  // Absent in snapshots of older builds: both forms must round-trip.
  checksum: fc.integer({ min: 0, max: 0xffff_ffff }),
}, { requiredKeys: ["index", "term", "config", "sizeBytes"], noNullPrototype: true });

const envelope = { from: id(), to: id(), term: uint() };
const requestIds = (): fc.Arbitrary<string[]> => fc.array(fc.string({ unit: "grapheme", maxLength: 24 }), { maxLength: 5 });

/** Any message of `type`, every field drawn over its range. */
export function messageOfType(type: MessageType): fc.Arbitrary<Message> {
  const t = fc.constant(type);
  switch (type) {
    case "PreVote": case "Vote":
      return record({ type: t, ...envelope, lastIndex: uint(), lastTerm: uint(), transfer: fc.boolean() }) as fc.Arbitrary<Message>;
    case "PreVoteResp": case "VoteResp":
      return record({ type: t, ...envelope, reject: fc.boolean(), commitIndex: uint(), commitTerm: uint() }) as fc.Arbitrary<Message>;
    case "App":
      return record({
        type: t, ...envelope, prevIndex: uint(), prevTerm: uint(), entries: fc.array(entry(), { maxLength: 6 }),
        commit: uint(), session: uint(), votingBarrier: uint(),
      }) as fc.Arbitrary<Message>;
    case "AppResp":
      return record({
        type: t, ...envelope, session: uint(), reject: fc.boolean(), index: uint(), hintIndex: uint(),
        hintTerm: uint(), nonVoting: fc.boolean(),
      }) as fc.Arbitrary<Message>;
    case "Heartbeat":
      return record({ type: t, ...envelope, commit: uint(), round: uint() }) as fc.Arbitrary<Message>;
    case "HeartbeatResp":
      return record({ type: t, ...envelope, round: uint(), behind: fc.boolean(), nonVoting: fc.boolean() }) as fc.Arbitrary<Message>;
    case "Snap":
      return record({
        type: t, ...envelope, transferId: uint(), meta: snapshotMeta(), offset: uint(), data: bytes(256), done: fc.boolean(),
      }) as fc.Arbitrary<Message>;
    case "SnapResp":
      return record({
        type: t, ...envelope, transferId: uint(), nextOffset: uint(), done: fc.boolean(), reject: fc.boolean(), nonVoting: fc.boolean(),
      }) as fc.Arbitrary<Message>;
    case "TimeoutNow":
      return record({ type: t, ...envelope }) as fc.Arbitrary<Message>;
    case "ReadIndex":
      return record({ type: t, ...envelope, requestIds: requestIds() }) as fc.Arbitrary<Message>;
    case "ReadIndexResp":
      return record({ type: t, ...envelope, requestIds: requestIds(), index: uint(), reject: fc.boolean() }) as fc.Arbitrary<Message>;
  }
}

export function anyMessage(): fc.Arbitrary<Message> {
  return fc.oneof(...MESSAGE_TYPES.map(messageOfType));
}

/** One message of every type from `from` to `to`, with recognisable field values. */
export function sampleMessages(from: NodeId, to: NodeId, term = 3): Message[] {
  const e = { from, to, term };
  const data = (length: number, seed: number): Uint8Array => Uint8Array.from({ length }, (_, i) => (i * 31 + seed) & 0xff);
  const meta: SnapshotMeta = { index: 40, term: 2, config: { voters: [1, 2, 3], learners: [4] }, sizeBytes: 5000 };
  return [
    { type: "PreVote", ...e, lastIndex: 10, lastTerm: 2, transfer: false },
    { type: "Vote", ...e, lastIndex: 10, lastTerm: 2, transfer: true },
    { type: "PreVoteResp", ...e, reject: true, commitIndex: 9, commitTerm: 2 },
    { type: "VoteResp", ...e, reject: false, commitIndex: 9, commitTerm: 2 },
    {
      type: "App", ...e, prevIndex: 10, prevTerm: 2, commit: 9, session: 5, votingBarrier: 0,
      entries: [
        { term: 3, index: 11, type: EntryType.Noop, data: new Uint8Array(0) },
        { term: 3, index: 12, type: EntryType.Normal, data: data(100, 1) },
        { term: 3, index: 13, type: EntryType.ConfChange, data: data(7, 2) },
      ],
    },
    { type: "AppResp", ...e, session: 5, reject: false, index: 13, hintIndex: 0, hintTerm: 0, nonVoting: true },
    { type: "Heartbeat", ...e, commit: 13, round: 4 },
    { type: "HeartbeatResp", ...e, round: 4, behind: true, nonVoting: false },
    { type: "Snap", ...e, transferId: 8, meta, offset: 1000, data: data(3000, 3), done: false },
    { type: "SnapResp", ...e, transferId: 8, nextOffset: 4000, done: false, reject: false, nonVoting: true },
    { type: "TimeoutNow", ...e },
    { type: "ReadIndex", ...e, requestIds: ["r-1", "r-2", "ünïcödé"] },
    { type: "ReadIndexResp", ...e, requestIds: ["r-1"], index: 13, reject: false },
  ];
}

export function heartbeat(from: NodeId, to: NodeId, round: number, term = 1): Message {
  return { type: "Heartbeat", from, to, term, commit: 0, round };
}

export function snapshotChunk(from: NodeId, to: NodeId, offset: number, sizeBytes: number, term = 1): Message {
  const meta: SnapshotMeta = { index: 100, term: 1, config: { voters: [from, to], learners: [] }, sizeBytes: 1 << 30 };
  return { type: "Snap", from, to, term, transferId: 1, meta, offset, data: new Uint8Array(sizeBytes).fill(offset & 0xff), done: false };
}

export function append(from: NodeId, to: NodeId, index: number, dataBytes: number, term = 1): Message {
  return {
    type: "App", from, to, term, prevIndex: index - 1, prevTerm: term, commit: 0, session: 1, votingBarrier: 0,
    entries: [{ term, index, type: EntryType.Normal, data: new Uint8Array(dataBytes).fill(index & 0xff) }],
  };
}
