/**
 * The rules every write to the log obeys, shared by DiskStorage and MemoryStorage and
 * checked before anything is written. A violation is a programmer error in the caller
 * and throws an InvariantError naming the values (etcd's "entry %d conflict with
 * committed entry"). Pure: no IO.
 */
import { type Entry, EntryType, type HardState, NONE, type SnapshotMeta } from "../raft/types.js";
import { InvariantError, invariant } from "../assert/invariant.js";

/** What the Raft ready loop hands over to make durable. */
export interface StorageUpdate {
  readonly hardState?: HardState;
  /** Appended; an entry at an index <= the last index replaces the log from there. */
  readonly entries?: readonly Entry[];
}

/** The part of the log's state the rules need, as it will be once earlier writes are durable. */
export interface LogModel {
  readonly snapshotIndex: number;
  readonly lastIndex: number;
  readonly lastTerm: number;
  readonly hardState: HardState;
}

export interface PlannedUpdate {
  readonly entries: readonly Entry[];
  /** The hard state to write, its commit clamped to the last index. */
  readonly hardState: HardState | undefined;
  readonly next: LogModel;
}

export function planUpdate(model: LogModel, update: StorageUpdate, entryDataBytesMax: number): PlannedUpdate {
  // A copy: the caller may reuse its array once persist() returns, before the write is durable.
  const entries = update.entries === undefined ? [] : update.entries.slice();
  const termNow = Math.max(model.hardState.term, update.hardState?.term ?? 0);
  if (update.hardState !== undefined) checkHardState(model.hardState, update.hardState);
  let lastIndex = model.lastIndex;
  let lastTerm = model.lastTerm;
  const first = entries[0];
  if (first !== undefined) {
    checkEntries(model, entries, termNow, entryDataBytesMax);
    const last = entries[entries.length - 1] as Entry;
    lastIndex = last.index;
    lastTerm = last.term;
  }
  // The persisted commit never exceeds the persisted last index: a commit index naming
  // entries this server does not hold would be believed after a restart.
  const written =
    update.hardState === undefined ? undefined : { ...update.hardState, commit: Math.min(update.hardState.commit, lastIndex) };
  const hardState = written ?? model.hardState;
  // Suffixes are only replaced above the commit index (checked above), so the old commit stays inside the log.
  if (hardState.commit > lastIndex) fail(`commit ${hardState.commit} would exceed last index ${lastIndex}`);
  return { entries, hardState: written, next: { snapshotIndex: model.snapshotIndex, lastIndex, lastTerm, hardState } };
}

function checkHardState(previous: HardState, next: HardState): void {
  invariant(next.term >= previous.term, () => `hard state term went backwards from ${previous.term} to ${next.term}`);
  invariant(
    next.term > previous.term || previous.vote === NONE || next.vote === previous.vote,
    () => `vote changed from ${previous.vote} to ${next.vote} within term ${next.term}`,
  );
  invariant(next.commit >= previous.commit, () => `commit went backwards from ${previous.commit} to ${next.commit}`);
  for (const [name, value] of [["term", next.term], ["vote", next.vote], ["commit", next.commit]] as const) {
    invariant(Number.isSafeInteger(value) && value >= 0, () => `hard state ${name} ${value} is not a non-negative integer`);
  }
}

// Checked for every entry of every write: plain conditions, no closure per check.
function checkEntries(model: LogModel, entries: readonly Entry[], termNow: number, entryDataBytesMax: number): void {
  const first = entries[0] as Entry;
  if (first.index <= model.snapshotIndex) {
    fail(`entry ${first.index} is at or below the snapshot index ${model.snapshotIndex}`);
  }
  if (first.index > model.lastIndex + 1) fail(`entry ${first.index} leaves a gap after last index ${model.lastIndex}`);
  if (first.index <= model.hardState.commit) {
    fail(`entry ${first.index} conflicts with committed entry (commit ${model.hardState.commit})`);
  }
  if (first.index === model.lastIndex + 1 && first.term < model.lastTerm) {
    fail(`entry ${first.index} has term ${first.term}, below the term ${model.lastTerm} of the entry before it`);
  }
  let previous: Entry | undefined;
  for (const entry of entries) {
    if (!Number.isSafeInteger(entry.index) || !Number.isSafeInteger(entry.term) || entry.term <= 0) {
      fail(`entry ${entry.index} has an invalid index or term ${entry.term}`);
    }
    if (entry.term > termNow) fail(`entry ${entry.index} has term ${entry.term}, above the current term ${termNow}`);
    if (entry.type !== EntryType.Normal && entry.type !== EntryType.Noop && entry.type !== EntryType.ConfChange) {
      fail(`entry ${entry.index} has unknown type ${String(entry.type)}`);
    }
    if (entry.data.byteLength > entryDataBytesMax) {
      fail(`entry ${entry.index} holds ${entry.data.byteLength} bytes, above entryDataBytesMax = ${entryDataBytesMax}`);
    }
    if (previous !== undefined) {
      if (entry.index !== previous.index + 1) fail(`entry ${entry.index} does not follow entry ${previous.index}`);
      if (entry.term < previous.term) {
        fail(`entry ${entry.index} has term ${entry.term}, below the term ${previous.term} of entry ${previous.index}`);
      }
    }
    previous = entry;
  }
}

function fail(message: string): never {
  throw new InvariantError(message);
}

/**
 * Raft §7: a received snapshot keeps the entries after its index only when the log
 * holds the snapshot's last entry (same index and term); otherwise the log is discarded.
 */
export function snapshotKeepsLog(termAtSnapshotIndex: number | undefined, meta: SnapshotMeta): boolean {
  return termAtSnapshotIndex === meta.term;
}

/**
 * A local snapshot covers committed, logged entries and moves forward. Returns false when
 * it is the current snapshot again (nothing to do).
 */
export function checkLocalSnapshot(meta: Pick<SnapshotMeta, "index" | "term">, currentIndex: number, durableCommit: number, termAtIndex: number | undefined): boolean {
  invariant(meta.index <= durableCommit, () => `snapshot index ${meta.index} is above the durable commit ${durableCommit}`);
  invariant(meta.index >= currentIndex, () => `snapshot index ${meta.index} is below the current snapshot's ${currentIndex}`);
  if (meta.index === currentIndex) return false;
  invariant(termAtIndex === meta.term, () =>
    `snapshot (index ${meta.index}, term ${meta.term}) does not match the log's term ${termAtIndex} at that index`);
  return true;
}

/** A received snapshot must be newer than the current one (the core drops stale ones). */
export function checkIncomingSnapshot(meta: SnapshotMeta, currentIndex: number): void {
  invariant(meta.index > currentIndex, () => `incoming snapshot ${meta.index} is not newer than the current snapshot ${currentIndex}`);
  invariant(Number.isSafeInteger(meta.sizeBytes) && meta.sizeBytes >= 0, () => `snapshot sizeBytes ${meta.sizeBytes} is invalid`);
}
