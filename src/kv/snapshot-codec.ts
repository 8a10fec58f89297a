import { invariant } from "../assert/invariant.js";
import { joinBytes } from "../codec/bytes.js";
import { ByteReader, ByteWriter, TRUNCATED, compareBytes } from "./bytes.js";
import { STAMP_MS_MAX } from "./commands.js";
import { SnapshotDecodeError } from "./errors.js";
import type { KeyRecord, RecordCursor } from "./record-cursor.js";
import { readResult, writeResult } from "./result-codec.js";
import type { KvResult } from "./results.js";
import type { Session } from "./sessions.js";

/**
 * The snapshot format, version 2:
 *
 *   magic "KVSM" | version u8 | appliedIndex | lastStampMs | hasPendingFlush u8 | [pendingFlushAtMs]
 *   | keyCount | keyCount x (key, value, flags u32, version, createVersion, hasExpiry u8, [expiresAtMs])
 *   | sessionCount | sessionCount x (id, lastUsedMs, ackedBelowSeq, replyCount, replyCount x (seq, result))
 *
 * Version 1, read still, had no pending flush. Keys are in byte order, sessions from longest idle to most recent, replies by seq:
 * one state has exactly one encoding, so equal states give equal bytes and digests.
 *
 * There is no checksum here, by decision: kv stays pure (the fast CRC32C is a native
 * package), and storage already frames every snapshot file with a CRC32C and checks
 * it on read. Decoding instead checks structure and the state machine's invariants.
 */
const MAGIC = [0x4b, 0x56, 0x53, 0x4d];
export const SNAPSHOT_FORMAT_VERSION = 2;
const FORMAT_VERSIONS_READ = [1, 2];

/** A state captured for encoding: what the encoder reads must not change while it runs. */
export interface CapturedSnapshotState {
  readonly appliedIndex: number;
  readonly lastStampMs: number;
  readonly pendingFlushAtMs: number | undefined;
  readonly keyCount: number;
  /** Exactly `keyCount` records, in key byte order. */
  readonly records: RecordCursor;
  /** From the longest idle to the most recently used; copies the state machine no longer changes. */
  readonly sessions: readonly Session[];
  /** Called once when the encoder has read every record. */
  readonly release: () => void;
}

/** Size at which the encoder starts a new piece of output. */
const SNAPSHOT_CHUNK_BYTES = 1024 * 1024;

/**
 * Encodes a captured state a slice at a time, so that a server can encode a large state
 * between turns of its event loop instead of stalling heartbeats for the whole of it.
 * The caller decides when to yield; this stays pure.
 */
export class SnapshotEncoder {
  private writer: ByteWriter;
  /** Finished pieces of the output: no one allocation (or copy) the size of the state. */
  private readonly chunks: Uint8Array[] = [];
  private recordsWritten = 0;
  private done = false;

  constructor(private readonly state: CapturedSnapshotState, sizeHintBytes: number) {
    this.writer = new ByteWriter(Math.min(64 + sizeHintBytes, SNAPSHOT_CHUNK_BYTES + 64 * 1024));
    for (const byte of MAGIC) this.writer.u8(byte);
    this.writer.u8(SNAPSHOT_FORMAT_VERSION);
    this.writer.varint(state.appliedIndex);
    this.writer.varint(state.lastStampMs);
    this.writer.u8(state.pendingFlushAtMs === undefined ? 0 : 1);
    if (state.pendingFlushAtMs !== undefined) this.writer.varint(state.pendingFlushAtMs);
    this.writer.varint(state.keyCount);
  }

  get appliedIndex(): number {
    return this.state.appliedIndex;
  }

  /** Encodes up to `recordsMax` more keys (sessions go with the last slice); true when all are in. */
  encodeSome(recordsMax: number): boolean {
    if (this.done) return true;
    const end = Math.min(this.state.keyCount, this.recordsWritten + recordsMax);
    for (; this.recordsWritten < end; this.recordsWritten++) {
      const more = this.state.records.next();
      invariant(more, () => `a capture of ${this.state.keyCount} keys yields them all (ended at ${this.recordsWritten})`);
      writeRecord(this.writer, this.state.records);
      if (this.writer.position >= SNAPSHOT_CHUNK_BYTES) this.cutChunk();
    }
    if (this.recordsWritten < this.state.keyCount) return false;
    invariant(!this.state.records.next(), () => `a capture of ${this.state.keyCount} keys yields no more`);
    this.state.release();
    this.writer.varint(this.state.sessions.length);
    for (const session of this.state.sessions) writeSession(this.writer, session);
    this.done = true;
    return true;
  }

  /**
   * Stops an encoding that will not be finished (its data is not wanted after all): the
   * capture is released, so the store stops keeping old versions for it. Nothing if done.
   */
  abandon(): void {
    if (this.done) return;
    this.done = true;
    this.state.release();
  }

  /**
   * The pieces finished so far and not yet taken, so that a caller can send them on while
   * the rest is encoded (only the piece being filled stays here). finishChunks then
   * returns only what was not taken.
   */
  takeChunks(): Uint8Array[] {
    return this.chunks.splice(0);
  }

  /** The encoding as pieces to write one after another (their concatenation is the snapshot, less any taken). */
  finishChunks(): Uint8Array[] {
    invariant(this.done, () => "SnapshotEncoder.finish is called once encodeSome() returned true");
    // The last piece needs no writer after it (a new one would reserve a chunk's bytes for nothing).
    if (this.writer.position > 0) this.chunks.push(this.writer.finish());
    return this.chunks;
  }

  /** The encoding in one piece. */
  finish(): Uint8Array {
    const chunks = this.finishChunks();
    return chunks.length === 1 ? (chunks[0] as Uint8Array) : joinBytes(chunks);
  }

  private cutChunk(): void {
    this.chunks.push(this.writer.finish());
    this.writer = new ByteWriter(SNAPSHOT_CHUNK_BYTES + 64 * 1024);
  }
}

function writeRecord(writer: ByteWriter, record: RecordCursor): void {
  writer.bytes(record.key());
  writer.bytes(record.value());
  writer.u32(record.flags);
  writer.varint(record.version);
  writer.varint(record.createVersion);
  const { expiresAtMs } = record;
  writer.u8(expiresAtMs === undefined ? 0 : 1);
  if (expiresAtMs !== undefined) writer.varint(expiresAtMs);
}

/** Where a decoder puts the records it reads: each key larger than the last (a KeyStore). */
export interface RecordSink {
  append(key: Uint8Array, record: KeyRecord): void;
}

function writeSession(writer: ByteWriter, session: Session): void {
  writer.varint(session.id);
  writer.varint(session.lastUsedMs);
  writer.varint(session.ackedBelowSeq);
  writer.varint(session.replies.size);
  const seqs = [...session.replies.keys()].sort((a, b) => a - b);
  for (const seq of seqs) {
    writer.varint(seq);
    writeResult(writer, session.replies.get(seq) as KvResult);
  }
}

/**
 * The most bytes the part of a snapshot before its first record can take (magic,
 * version, four varints, a flag): a streaming restore holds back its first pieces until
 * this many have come, or the whole snapshot has.
 */
export const SNAPSHOT_HEADER_BYTES_MAX = MAGIC.length + 1 + 4 * 10 + 1;

/**
 * Decodes a snapshot a slice of keys at a time, so that a member can install a large one
 * between turns of the event loop, and from pieces as they are read, so that it never
 * holds the whole encoding: the header at construction, then `feed` and `nextRecords`
 * until `done`, then `finish` for the sessions once the last piece is in. Each check of
 * the format and of the state machine's invariants throws `SnapshotDecodeError` where it
 * finds the fault (its offset counted from the snapshot's first byte).
 */
export class SnapshotDecoder {
  readonly appliedIndex: number;
  readonly lastStampMs: number;
  /** A delayed flush-all not yet reached: always after lastStampMs. */
  readonly pendingFlushAtMs: number | undefined;
  private reader: ByteReader;
  /** Bytes of the snapshot before the reader's input. */
  private inputStart = 0;
  private inputEnded: boolean;
  private recordsLeft: number;
  /** The last key read: a view of the input (pieces are never changed once fed). */
  private previousKey: Uint8Array | undefined;
  private finished = false;

  /**
   * `first` is the snapshot's first piece, or all of it when `inputEnded`; a first piece
   * must hold at least SNAPSHOT_HEADER_BYTES_MAX bytes.
   */
  constructor(first: Uint8Array, inputEnded = true) {
    invariant(inputEnded || first.length >= SNAPSHOT_HEADER_BYTES_MAX, () =>
      `a snapshot's first piece holds its header: ${first.length} bytes, at least ${SNAPSHOT_HEADER_BYTES_MAX} needed`);
    this.inputEnded = inputEnded;
    const reader = this.readerOf(first);
    this.reader = reader;
    for (const byte of MAGIC) {
      if (reader.u8() !== byte) throw reader.invalid(0, "bad magic: not a KVRaft kv snapshot");
    }
    const version = reader.u8();
    if (!FORMAT_VERSIONS_READ.includes(version)) {
      throw reader.invalid(MAGIC.length, `unsupported format version ${version} (this build reads ${FORMAT_VERSIONS_READ.join(" and ")})`);
    }
    this.appliedIndex = reader.varint();
    this.lastStampMs = reader.varint();
    if (this.lastStampMs > STAMP_MS_MAX) throw reader.invalid(reader.position, `lastStampMs ${this.lastStampMs} is above 2^52`);
    const pendingOffset = reader.position;
    this.pendingFlushAtMs = version >= 2 && reader.flag() ? reader.varint() : undefined;
    if (this.pendingFlushAtMs !== undefined && this.pendingFlushAtMs <= this.lastStampMs) {
      throw reader.invalid(pendingOffset, `pending flush at ${this.pendingFlushAtMs} is not after the last stamp ${this.lastStampMs}`);
    }
    this.recordsLeft = reader.varint();
  }

  /** Whether every record has been read (the sessions remain, for finish). */
  get done(): boolean {
    return this.recordsLeft === 0;
  }

  /** Whether the next step needs another piece: the next record, or the sessions, are not all in yet. */
  get needsInput(): boolean {
    if (this.inputEnded) return false;
    return this.done || wholeRecordEnd(this.reader.input, this.reader.position) === undefined;
  }

  /** Appends the snapshot's next piece (`last` when it ends the snapshot); only what is left unread of the earlier ones is copied. */
  feed(piece: Uint8Array, last: boolean): void {
    invariant(!this.inputEnded, () => "SnapshotDecoder.feed is not called after the last piece");
    this.inputEnded = last;
    const unread = this.reader.remaining;
    this.inputStart += this.reader.position;
    if (unread === 0) {
      this.reader = this.readerOf(piece);
      return;
    }
    const joined = new Uint8Array(unread + piece.length);
    joined.set(this.reader.input.subarray(this.reader.position), 0);
    joined.set(piece, unread);
    this.reader = this.readerOf(joined);
  }

  /**
   * Reads up to `max` more records into `sink`, in key order, each checked before it
   * goes in; returns how many. It stops early at a record that is not all in before the
   * last piece. Keys and values go to the sink as views of the input.
   */
  nextRecords(max: number, sink: RecordSink): number {
    const reader = this.reader;
    let read = 0;
    for (; this.recordsLeft > 0 && read < max; read++) {
      const offset = reader.position;
      // Views: the store copies them in, so a record costs no allocation of its own.
      let key: Uint8Array, value: Uint8Array, flags: number, version: number, createVersion: number, expiresAtMs: number | undefined;
      try {
        key = reader.bytesView();
        value = reader.bytesView();
        flags = reader.u32();
        version = reader.varint();
        createVersion = reader.varint();
        expiresAtMs = reader.flag() ? reader.varint() : undefined;
      } catch (error) {
        // A record cut by the end of a piece: taken whole once the next piece is in. Looked
        // for only when a read fails, not before each record (a million records' worth of peeks).
        if (this.inputEnded || wholeRecordEnd(reader.input, offset) !== undefined) throw error;
        this.rewindTo(offset);
        break;
      }
      if (key.length === 0) throw reader.invalid(offset, "empty key");
      if (this.previousKey !== undefined && compareBytes(key, this.previousKey) <= 0) throw reader.invalid(offset, "keys not in strictly increasing order");
      if (createVersion < 1 || createVersion > version || version > this.appliedIndex) {
        const chain = `1 <= createVersion ${createVersion} <= version ${version} <= appliedIndex ${this.appliedIndex}`;
        throw reader.invalid(offset, `versions break ${chain}`);
      }
      // Applying an entry removes every key expiring at or before its stamp first.
      if (expiresAtMs !== undefined && expiresAtMs <= this.lastStampMs) {
        throw reader.invalid(offset, `key expired at ${expiresAtMs}, not after the last stamp ${this.lastStampMs}`);
      }
      sink.append(key, { value, flags, version, createVersion, expiresAtMs });
      this.previousKey = key;
      this.recordsLeft--;
    }
    return read;
  }

  /** The sessions, once every record is read; checks that nothing follows them. */
  finish(): Session[] {
    invariant(this.done && this.inputEnded && !this.finished, () => "SnapshotDecoder.finish is called once, after the last record and the last piece");
    this.finished = true;
    const sessions = readSessions(this.reader, this.appliedIndex, this.lastStampMs);
    this.reader.expectEnd();
    return sessions;
  }

  /** Reads again from `offset` of the current input (the start of a record cut short). */
  private rewindTo(offset: number): void {
    this.inputStart += offset;
    this.reader = this.readerOf(this.reader.input.subarray(offset));
  }

  private readerOf(input: Uint8Array): ByteReader {
    const inputStart = this.inputStart;
    return new ByteReader(input, (offset, reason) => new SnapshotDecodeError("snapshot", inputStart + offset, reason));
  }
}

/**
 * Where the record at `offset` ends, or undefined when `bytes` end before it does: the
 * record's fields skipped with a reader of their own. A record malformed in itself gets
 * an end, so that the decoder reports its fault.
 */
function wholeRecordEnd(bytes: Uint8Array, offset: number): number | undefined {
  let cut = false;
  const peek = new ByteReader(bytes.subarray(offset), (at, reason) => {
    cut = reason.startsWith(TRUNCATED);
    return new SnapshotDecodeError("snapshot", offset + at, reason);
  });
  try {
    peek.bytesView();
    peek.bytesView();
    peek.u32();
    peek.varint();
    peek.varint();
    if (peek.flag()) peek.varint();
  } catch {
    if (cut) return undefined;
  }
  return offset + peek.position;
}

function readSessions(reader: ByteReader, appliedIndex: number, lastStampMs: number): Session[] {
  const count = reader.varint();
  const sessions: Session[] = [];
  const seen = new Set<number>();
  let previousUsedMs = 0;
  for (let i = 0; i < count; i++) {
    const offset = reader.position;
    const id = reader.varint();
    const lastUsedMs = reader.varint();
    const ackedBelowSeq = reader.varint();
    if (id < 1 || id > appliedIndex || seen.has(id)) throw reader.invalid(offset, `session id ${id} is duplicate or not an applied index`);
    if (lastUsedMs < previousUsedMs || lastUsedMs > lastStampMs) {
      throw reader.invalid(offset, `session ${id} last used at ${lastUsedMs}: out of idle order or after the last stamp ${lastStampMs}`);
    }
    seen.add(id);
    previousUsedMs = lastUsedMs;
    sessions.push({ id, lastUsedMs, ackedBelowSeq, replies: readReplies(reader, ackedBelowSeq, appliedIndex) });
  }
  return sessions;
}

function readReplies(reader: ByteReader, ackedBelowSeq: number, appliedIndex: number): Map<number, KvResult> {
  const count = reader.varint();
  const replies = new Map<number, KvResult>();
  let previousSeq = -1;
  for (let i = 0; i < count; i++) {
    const offset = reader.position;
    const seq = reader.varint();
    if (seq <= previousSeq || seq < ackedBelowSeq) throw reader.invalid(offset, `reply seq ${seq} out of order or acknowledged`);
    const result = readResult(reader);
    if (result.revision > appliedIndex) {
      throw reader.invalid(offset, `reply revision ${result.revision} after appliedIndex ${appliedIndex}`);
    }
    replies.set(seq, result);
    previousSeq = seq;
  }
  return replies;
}
