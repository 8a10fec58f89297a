import { invariant } from "../assert/invariant.js";
import type { LogStorage } from "./log-storage.js";
import { entriesBytes } from "./messages.js";
import type { Entry, SnapshotMeta } from "./types.js";

/**
 * The log as the core sees it: what is durable (read through LogStorage) followed by
 * what is not yet (`unstable`, handed to the caller in a Ready and dropped here once
 * the caller reports it durable). Indexes at or after `unstableOffset` come from the
 * unstable part, which may overwrite a suffix of the durable log.
 */
export class RaftLog {
  /** Entries from `unstableOffset` on that are not yet durable (or not yet confirmed so). */
  private unstable: Entry[] = [];
  private unstableOffset: number;
  /** A received snapshot to be installed, with the log reset to just after it. */
  private pendingSnapshot: SnapshotMeta | undefined;
  /** How many unstable entries were already handed out in a Ready. */
  private handedOut = 0;
  committed: number;
  applied: number;

  constructor(readonly storage: LogStorage) {
    this.unstableOffset = storage.lastIndex() + 1;
    const snapshotIndex = storage.snapshotMeta().index;
    this.committed = Math.max(storage.hardState().commit, snapshotIndex);
    this.applied = snapshotIndex;
    invariant(this.committed <= storage.lastIndex(), () =>
      `storage: persisted commit ${this.committed} exceeds persisted last index ${storage.lastIndex()}`);
  }

  snapshotIndex(): number {
    return this.pendingSnapshot?.index ?? this.storage.snapshotMeta().index;
  }

  firstIndex(): number {
    return this.pendingSnapshot !== undefined ? this.pendingSnapshot.index + 1 : this.storage.firstIndex();
  }

  lastIndex(): number {
    if (this.unstable.length > 0) return this.unstableOffset + this.unstable.length - 1;
    if (this.pendingSnapshot !== undefined) return this.pendingSnapshot.index;
    return Math.min(this.storage.lastIndex(), this.unstableOffset - 1);
  }

  lastTerm(): number {
    const term = this.term(this.lastIndex());
    invariant(term !== undefined, () => `raft log: the term of the last index ${this.lastIndex()} is known`);
    return term;
  }

  /** The term at `index`, or undefined when compacted away or past the end. */
  term(index: number): number | undefined {
    if (index >= this.unstableOffset) {
      return this.unstable[index - this.unstableOffset]?.term;
    }
    if (this.pendingSnapshot !== undefined) {
      return index === this.pendingSnapshot.index ? this.pendingSnapshot.term : undefined;
    }
    if (index > this.storage.lastIndex()) return undefined;
    return this.storage.term(index);
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  /** Raft §5.4.1: is a log ending at (lastIndex, lastTerm) at least as up to date as ours? */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  /** Entries in [lo, hi) up to bytesMax (at least one); undefined if lo is compacted. */
  slice(lo: number, hi: number, bytesMax: number, entriesMax: number): Entry[] | undefined {
    if (lo < this.firstIndex()) return undefined;
    hi = Math.min(hi, this.lastIndex() + 1, lo + entriesMax);
    if (lo >= hi) return [];
    const result: Entry[] = [];
    let bytes = 0;
    if (lo < this.unstableOffset) {
      const stableHi = Math.min(hi, this.unstableOffset);
      const stable = this.storage.entries(lo, stableHi, bytesMax);
      for (const entry of stable) result.push(entry);
      bytes = entriesBytes(stable);
      if (result.length < stableHi - lo) return result;
    }
    for (let index = Math.max(lo, this.unstableOffset); index < hi; index++) {
      const entry = this.unstable[index - this.unstableOffset] as Entry;
      const size = entriesBytes([entry]);
      if (result.length > 0 && bytes + size > bytesMax) break;
      result.push(entry);
      bytes += size;
    }
    return result;
  }

  /** Appends entries that directly follow the last index (a leader's own proposals). */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = entries[0] as Entry;
    invariant(first.index === this.lastIndex() + 1, () =>
      `raft log: appended entry index ${first.index} directly follows last index ${this.lastIndex()}`);
    this.truncateAndAppend(entries);
  }

  /**
   * A follower's append: entries after a matching (prevIndex, prevTerm). Skips entries
   * already present with the same term; truncates at the first conflict. Returns the
   * last index of the new entries, or undefined when prevIndex does not match.
   */
  maybeAppend(prevIndex: number, prevTerm: number, entries: readonly Entry[]): number | undefined {
    if (!this.matchTerm(prevIndex, prevTerm)) return undefined;
    const lastNew = prevIndex + entries.length;
    let firstConflict = -1;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i] as Entry;
      if (!this.matchTerm(entry.index, entry.term)) {
        firstConflict = i;
        break;
      }
    }
    if (firstConflict >= 0) {
      const conflictIndex = (entries[firstConflict] as Entry).index;
      invariant(conflictIndex > this.committed, () =>
        `raft log: entry ${conflictIndex} conflicts with committed entry (committed ${this.committed})`);
      this.truncateAndAppend(entries.slice(firstConflict));
    }
    return lastNew;
  }

  /** The lowest index overwritten since the last `takeTruncation()` (undefined: none). */
  private truncatedFrom: number | undefined;

  /** Reports (once) the lowest index whose entry was replaced, so stale acks can be withdrawn. */
  takeTruncation(): number | undefined {
    const index = this.truncatedFrom;
    this.truncatedFrom = undefined;
    return index;
  }

  private truncateAndAppend(entries: readonly Entry[]): void {
    const first = (entries[0] as Entry).index;
    if (first <= this.lastIndex()) this.truncatedFrom = Math.min(this.truncatedFrom ?? first, first);
    if (first === this.unstableOffset + this.unstable.length) {
      for (const entry of entries) this.unstable.push(entry);
    } else if (first <= this.unstableOffset) {
      // Overwrites the durable suffix: the next Ready starts at `first`.
      this.unstableOffset = first;
      this.unstable = [...entries];
      this.handedOut = 0;
    } else {
      this.unstable.length = first - this.unstableOffset;
      for (const entry of entries) this.unstable.push(entry);
      this.handedOut = Math.min(this.handedOut, first - this.unstableOffset);
    }
  }

  /** Fast back-off (follower side): the last index <= index whose term is <= term. */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    let probe = Math.min(index, this.lastIndex());
    while (probe > this.snapshotIndex()) {
      const probeTerm = this.term(probe);
      if (probeTerm === undefined || probeTerm <= term) break;
      probe--;
    }
    return { index: probe, term: this.term(probe) ?? 0 };
  }

  commitTo(index: number): boolean {
    if (index <= this.committed) return false;
    invariant(index <= this.lastIndex(), () =>
      `raft log: commit index ${index} is past the last index ${this.lastIndex()}`);
    this.committed = index;
    return true;
  }

  /** Replaces the whole log by a received snapshot (Raft §7: no matching entry kept). */
  restoreSnapshot(meta: SnapshotMeta): void {
    if (meta.index < this.lastIndex()) this.truncatedFrom = Math.min(this.truncatedFrom ?? meta.index + 1, meta.index + 1);
    this.pendingSnapshot = meta;
    this.unstable = [];
    this.unstableOffset = meta.index + 1;
    this.handedOut = 0;
    this.committed = meta.index;
  }

  // ---- the Ready hand-off ----

  unhandedEntries(): Entry[] {
    return this.unstable.slice(this.handedOut);
  }

  snapshotToInstall(): SnapshotMeta | undefined {
    return this.pendingSnapshot;
  }

  markHandedOut(): void {
    this.handedOut = this.unstable.length;
  }

  /** The last index that is durable on this node (persisted and acknowledged). */
  stableLastIndex(): number {
    return Math.min(this.storage.lastIndex(), this.unstableOffset - 1);
  }

  /** The caller made entries up to `index` (of `term`) and any pending snapshot durable. */
  stableTo(index: number, term: number, snapshot: SnapshotMeta | undefined): void {
    if (snapshot !== undefined && this.pendingSnapshot === snapshot) {
      this.pendingSnapshot = undefined;
      this.applied = Math.max(this.applied, snapshot.index);
    }
    if (index < this.unstableOffset || this.term(index) !== term) return;
    const count = index - this.unstableOffset + 1;
    this.unstable = this.unstable.slice(count);
    this.unstableOffset = index + 1;
    this.handedOut = Math.max(0, this.handedOut - count);
  }

  /** Committed entries that are durable here and not yet handed to the application. */
  nextCommittedEntries(bytesMax: number): Entry[] {
    const hi = Math.min(this.committed, this.stableLastIndex());
    if (this.pendingSnapshot !== undefined || hi <= this.applied) return [];
    return this.slice(this.applied + 1, hi + 1, bytesMax, Number.MAX_SAFE_INTEGER) ?? [];
  }

  appliedTo(index: number): void {
    invariant(index <= this.committed, () => `raft log: applied ${index} past committed ${this.committed}`);
    this.applied = Math.max(this.applied, index);
  }

}
