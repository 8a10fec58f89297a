import { invariant } from "../assert/invariant.js";
import { decodeCommand } from "./command-codec.js";
import type { CommandEnvelope, KvCommand } from "./commands.js";
import { validateKvConfig, type KvConfig } from "./config.js";
import { fnv1a64 } from "./digest.js";
import { KvArgumentError, ListingExpiredError } from "./errors.js";
import { EventHistory, type EventsResult } from "./events.js";
import { KeyStore, type ScanSource } from "./key-store.js";
import { applyWrite, flushNow } from "./operations.js";
import { writeGrowthBytes } from "./quota.js";
import { getKey, listKeys, type GetResult, type ListOptions, type ListResult } from "./reads.js";
import { failure, type KvResult } from "./results.js";
import { SessionTable } from "./sessions.js";
import { joinBytes } from "../codec/bytes.js";
import { SNAPSHOT_HEADER_BYTES_MAX, SnapshotDecoder, SnapshotEncoder } from "./snapshot-codec.js";

const EMPTY_PREFIX = new Uint8Array(0);
interface ListingPin {
  readonly source: ScanSource;
  readonly release: () => void;
  /** Expiry is judged at the first page's read stamp on every page. */
  nowMs: number;
  readonly pinnedAtStampMs: number;
}

/** What reads see once a pending flush-all has passed. */
const EMPTY_STORE = new KeyStore();
/** Rough snapshot bytes per key beyond its key and value: lengths, flags, versions. */
const SNAPSHOT_RECORD_OVERHEAD_BYTES = 24;

/** A snapshot being restored from its pieces: see KvStateMachine.beginRestore. */
export interface SnapshotRestore {
  /** Adds the snapshot's next piece, `last` when it ends it; a piece must not change once fed. */
  feed(piece: Uint8Array, last: boolean): void;
  /** Whether `step` can do nothing more until the next piece is fed. */
  readonly needsInput: boolean;
  /** Restores up to `maxKeys` more keys of what was fed; returns the machine once the whole snapshot is in. */
  step(maxKeys: number): KvStateMachine | undefined;
}

/**
 * The replicated key-value map, driven by the committed Raft log.
 *
 * How to drive it: hand every committed entry to it in log order, exactly once:
 * `apply(index, data)` for an entry carrying a command (bytes from `encodeCommand`),
 * `applyNoop(index)` for any other entry (leader no-ops, configuration changes). The
 * log index of an entry is its revision. Every replica that applies the same entries
 * reaches the same state, byte for byte (compare `digest()`), because `apply` reads
 * nothing but its arguments: time comes from the stamps in the entries, never a clock.
 *
 * Reads (`get`, `list`, `eventsSince`) do not go through the log; the server makes them
 * linearizable (ReadIndex) before it calls them. `snapshot()` and `restore()` move the
 * whole state; the watch history is local and restarts after a restore.
 */
export class KvStateMachine {
  readonly config: KvConfig;
  private readonly store = new KeyStore();
  private readonly sessions: SessionTable;
  private history: EventHistory;
  private appliedIndexValue = 0;
  private lastStampMsValue = 0;
  /** States pinned for listings that have more pages, by revision, oldest first. */
  private readonly pins = new Map<number, ListingPin>();
  /** A delayed flush-all: every key that exists at this stamp is gone from it on. */
  private pendingFlushAtMs: number | undefined;

  constructor(config: Partial<KvConfig> = {}) {
    this.config = validateKvConfig(config);
    this.sessions = new SessionTable(this.config);
    this.history = this.newHistory(1);
  }

  /** The index (revision) of the last applied entry; 0 before the first. */
  get appliedIndex(): number {
    return this.appliedIndexValue;
  }

  /** The state machine's clock: the largest stamp applied so far. */
  get lastStampMs(): number {
    return this.lastStampMsValue;
  }

  /**
   * The earliest stamp at which applying any command (a `tick` will do) changes the
   * state by time alone: a key expires, a session times out or a delayed flush-all
   * runs. Undefined when nothing is waiting on time. Applying only happens when the
   * leader proposes, so an idle leader asks this to know when to propose a tick.
   */
  nextDeadlineMs(): number | undefined {
    let earliest: number | undefined;
    for (const due of [this.store.nextExpiryMs(), this.sessions.nextExpiryMs(), this.pendingFlushAtMs]) {
      if (due !== undefined && (earliest === undefined || due < earliest)) earliest = due;
    }
    return earliest;
  }

  /**
   * Applies the command entry at `index`. Throws `CommandDecodeError` for bytes that
   * are not a command (nothing is applied: they would fail the same way on every
   * replica, and skipping them would hide a version skew) and an `InvariantError` (a
   * bug in the caller) when `index` is not the next one.
   *
   * `data` is the entry's own bytes, which nothing changes once the entry exists: the
   * command's keys and values are views of it, not copies. The store copies what it
   * keeps; the watch history keeps the views, so a recent value is held once, in the
   * log's buffer, rather than a second time in the history's (with 64 KiB values the
   * history's copies came to 64 MiB, its byte bound).
   */
  apply(index: number, data: Uint8Array): KvResult {
    this.assertNext(index);
    const envelope = decodeCommand(data, "views");
    return this.applyEnvelope(index, envelope);
  }

  /** Advances past an entry that carries no command. Stamps, and so expiry, stay put. */
  applyNoop(index: number): void {
    this.assertNext(index);
    this.appliedIndexValue = index;
  }

  private applyEnvelope(index: number, envelope: CommandEnvelope): KvResult {
    // A new leader's clock may lag the old one's; the state machine's time never goes back.
    const stampMs = Math.max(this.lastStampMsValue, envelope.stampMs);
    // Entries apply in stamp order, so every key here was written before the flush time.
    if (this.pendingFlushAtMs !== undefined && stampMs >= this.pendingFlushAtMs) {
      this.pendingFlushAtMs = undefined;
      flushNow(this.store, this.history, index);
    }
    for (const { key, version } of this.store.removeExpired(stampMs)) {
      this.history.append({ type: "delete", revision: index, key, previousVersion: version, expired: true });
    }
    this.sessions.expire(stampMs);
    this.expirePins(stampMs);
    const result = this.execute(index, stampMs, envelope.command);
    this.appliedIndexValue = index;
    this.lastStampMsValue = stampMs;
    return result;
  }

  private execute(revision: number, stampMs: number, command: KvCommand): KvResult {
    switch (command.type) {
      case "register-session":
        this.sessions.register(revision, stampMs);
        return { ok: true, kind: "session-registered", revision, sessionId: revision };
      case "close-session":
        return this.sessions.close(command.sessionId)
          ? { ok: true, kind: "session-closed", revision }
          : failure(revision, "session-expired", `session ${command.sessionId} is unknown: nothing to close`);
      case "tick":
        return { ok: true, kind: "ticked", revision };
    }
    const context = {
      store: this.store, history: this.history, config: this.config, revision, stampMs,
      setPendingFlush: (atMs: number | undefined) => { this.pendingFlushAtMs = atMs; },
    };
    if (command.session === undefined) return applyWrite(context, command);
    const gate = this.sessions.admit(command.session, stampMs, revision);
    if (!gate.apply) return gate.result;
    const result = applyWrite(context, command);
    this.sessions.remember(gate.session, command.session.seq, result);
    return result;
  }

  private assertNext(index: number): void {
    invariant(index === this.appliedIndexValue + 1, () =>
      `entries are applied in order: index == appliedIndex + 1 (expected ${this.appliedIndexValue + 1}, got ${index})`);
  }

  /** The key as of `readStampMs` (or the state's own clock, if that is later). */
  get(key: Uint8Array, readStampMs: number): GetResult {
    const nowMs = Math.max(readStampMs, this.lastStampMsValue);
    return getKey(this.flushedBy(nowMs) ? EMPTY_STORE : this.store, key, nowMs, this.appliedIndexValue);
  }

  /**
   * A page of keys with `prefix` in byte order; see `ListOptions`. A first page that has
   * more to come pins the state of its revision (copy-on-write, local to this replica,
   * for listingPinMs of log time, at most listingPinsMax at once), and later pages naming
   * that revision read the pinned state; a pin no longer held throws ListingExpiredError.
   */
  list(prefix: Uint8Array, options: ListOptions): ListResult {
    const pinned = options.revision !== undefined && options.revision !== this.appliedIndexValue;
    if (pinned) {
      const pin = this.pins.get(options.revision);
      if (pin === undefined) throw new ListingExpiredError(options.revision, this.appliedIndexValue);
      return listKeys(pin.source, prefix, options, pin.nowMs, options.revision, this.config.listLimitMax);
    }
    const nowMs = Math.max(options.readStampMs ?? 0, this.lastStampMsValue);
    const store = this.flushedBy(nowMs) ? EMPTY_STORE : this.store;
    const page = listKeys(store, prefix, options, nowMs, this.appliedIndexValue, this.config.listLimitMax);
    if (page.nextAfter !== undefined) this.pin(nowMs, store);
    return page;
  }

  private pin(nowMs: number, store: KeyStore): void {
    const revision = this.appliedIndexValue;
    const existing = this.pins.get(revision);
    if (existing !== undefined) {
      existing.nowMs = Math.min(existing.nowMs, nowMs);
      return;
    }
    if (this.pins.size >= this.config.listingPinsMax) this.unpin(this.pins.keys().next().value as number);
    const capture = store.capture();
    this.pins.set(revision, { source: capture, release: capture.release, nowMs, pinnedAtStampMs: this.lastStampMsValue });
  }

  private unpin(revision: number): void {
    this.pins.get(revision)?.release();
    this.pins.delete(revision);
  }

  /** Pins last listingPinMs of log time: stamps, not a clock, so tests and the simulator replay. */
  private expirePins(stampMs: number): void {
    for (const [revision, pin] of this.pins) {
      if (stampMs - pin.pinnedAtStampMs >= this.config.listingPinMs) this.unpin(revision);
    }
  }

  /**
   * A read stamped at or after a pending flush sees no keys: they all predate it (the
   * first entry stamped past it removes them). The flush is not yet in the log at any
   * index, so the read's revision stays the applied index.
   */
  private flushedBy(nowMs: number): boolean {
    return this.pendingFlushAtMs !== undefined && nowMs >= this.pendingFlushAtMs;
  }

  /**
   * Events with revision >= `revision` for keys with `prefix`, or `compacted` when the
   * history no longer reaches back that far. Returned events are copies.
   */
  eventsSince(revision: number, prefix: Uint8Array = EMPTY_PREFIX, limit = this.config.listLimitMax): EventsResult {
    if (!Number.isSafeInteger(revision)) throw new KvArgumentError("revision", `must be an integer, got ${revision}`);
    if (!Number.isInteger(limit) || limit < 1 || limit > this.config.listLimitMax) {
      throw new KvArgumentError("limit", `must be an integer in [1, ${this.config.listLimitMax}] (listLimitMax), got ${limit}`);
    }
    // Revisions start at 1: asking for anything earlier means "from the beginning".
    const result = this.history.since(Math.max(revision, 1), prefix, limit, this.appliedIndexValue);
    if (!result.ok) return result;
    const events = result.events.map((event) =>
      event.type === "put"
        ? { ...event, key: event.key.slice(), value: event.value.slice() }
        : event.type === "delete"
          ? { ...event, key: event.key.slice() }
          : event,
    );
    return { ...result, events };
  }

  /** Bytes of all keys and values (expired keys count until an entry removes them). */
  sizeBytes(): number {
    return this.store.sizeBytes;
  }

  keyCount(): number {
    return this.store.count;
  }

  sessionCount(): number {
    return this.sessions.size;
  }

  /**
   * For the leader, before proposing: would `command` take the data past `quotaBytes`?
   * Never called from apply: quotas are per node, and replicas must not diverge.
   * Commands that do not grow the data always pass.
   */
  wouldExceedQuota(command: KvCommand, quotaBytes: number): boolean {
    const existing = "key" in command ? this.store.get(command.key) : undefined;
    const growthBytes = writeGrowthBytes(command, existing);
    return growthBytes > 0 && this.store.sizeBytes + growthBytes > quotaBytes;
  }

  /** The whole replicated state in the snapshot format (see snapshot-codec.ts). */
  snapshot(): Uint8Array {
    const encoder = this.beginSnapshot();
    while (!encoder.encodeSome(Number.MAX_SAFE_INTEGER));
    return encoder.finish();
  }

  /**
   * Captures the state as of now and returns an encoder to run a slice at a time while
   * entries go on being applied: keys copy-on-write (see KeyStore.capture), sessions,
   * which are few and mutate in place, copied now.
   */
  beginSnapshot(): SnapshotEncoder {
    const capture = this.store.capture();
    const state = {
      appliedIndex: this.appliedIndexValue,
      lastStampMs: this.lastStampMsValue,
      pendingFlushAtMs: this.pendingFlushAtMs,
      keyCount: capture.count,
      records: capture.records(),
      sessions: [...this.sessions.all()].map((session) => ({ ...session, replies: new Map(session.replies) })),
      release: capture.release,
    };
    return new SnapshotEncoder(state, this.store.sizeBytes + this.store.count * SNAPSHOT_RECORD_OVERHEAD_BYTES);
  }

  /** A state machine holding the snapshot's state; throws `SnapshotDecodeError` if invalid. */
  static restore(bytes: Uint8Array, config: Partial<KvConfig> = {}): KvStateMachine {
    const restore = KvStateMachine.beginRestore(config);
    restore.feed(bytes, true);
    return restore.step(Number.POSITIVE_INFINITY) as KvStateMachine;
  }

  /**
   * Restores a snapshot from its pieces as they are read (the whole encoding is never
   * held at once), a slice of keys at a time (the caller yields between steps, so a
   * member installing a large snapshot goes on answering heartbeats): `feed` a piece,
   * `step` until `needsInput`, and so on; after the last piece, `step` until it returns
   * the machine. Throws `SnapshotDecodeError` at the step that finds a fault.
   */
  static beginRestore(config: Partial<KvConfig> = {}): SnapshotRestore {
    const machine = new KvStateMachine(config);
    /** Pieces held back until the header is all in. */
    const early: Uint8Array[] = [];
    let decoder: SnapshotDecoder | undefined;
    let ended = false;
    let restored = false;
    return {
      feed(piece, last) {
        invariant(!ended, () => "a snapshot restore is not fed after its last piece");
        ended = last;
        if (decoder !== undefined) return decoder.feed(piece, last);
        early.push(piece);
        const heldBytes = early.reduce((sum, held) => sum + held.length, 0);
        if (heldBytes < SNAPSHOT_HEADER_BYTES_MAX && !last) return;
        decoder = new SnapshotDecoder(early.length === 1 ? piece : joinBytes(early), last);
        early.length = 0;
      },
      get needsInput() {
        return decoder === undefined ? !ended : decoder.needsInput;
      },
      step(maxKeys) {
        invariant(!restored, () => "a snapshot restore is not stepped after it returned the machine");
        if (decoder === undefined) return undefined;
        decoder.nextRecords(maxKeys, machine.store);
        if (!decoder.done || !ended) return undefined;
        for (const session of decoder.finish()) machine.sessions.restore(session);
        machine.appliedIndexValue = decoder.appliedIndex;
        machine.lastStampMsValue = decoder.lastStampMs;
        machine.pendingFlushAtMs = decoder.pendingFlushAtMs;
        machine.history = machine.newHistory(decoder.appliedIndex + 1);
        restored = true;
        return machine;
      },
    };
  }

  /** A fingerprint of the replicated state: equal on replicas at the same index. */
  digest(): string {
    return fnv1a64(this.snapshot());
  }

  private newHistory(startRevision: number): EventHistory {
    return new EventHistory(startRevision, this.config.eventHistoryMax, this.config.eventHistoryBytesMax);
  }
}
