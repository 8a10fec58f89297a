import type { Ready } from "../raft/ready.js";
import type { Entry, HardState } from "../raft/types.js";
import type { RaftStorage } from "../storage/index.js";
import type { DiskFullRetry } from "./disk-full-retry.js";

/**
 * What a member writes of each Ready, and when: its entries and hard state in one group
 * commit, except a change of the commit index alone. A commit index need not be durable
 * (a restarted member learns it again from the leader), so it rides along with the next
 * write of entries instead of costing an fsync of its own (etcd's MustSync rule). Writes
 * that find the disk full are retried until they succeed (DiskFullRetry); what was stored
 * is noted only once durable, so a retry decides again from what is really on disk.
 */
export class LogWriter {
  /** The hard state last handed to storage (term, vote and nonVoting must be durable). */
  private stored: HardState;
  /** A newer hard state that differs from the stored one only in its commit index, not yet written. */
  private unwrittenCommit: HardState | undefined;

  constructor(private readonly storage: RaftStorage, private readonly diskFull: DiskFullRetry) {
    this.stored = storage.hardState();
  }

  /**
   * Writes the Ready's hard state and entries. Undefined when nothing is written (not
   * `async`: a Ready without a write costs no promise).
   */
  persist(ready: Ready): Promise<void> | undefined {
    const hardState = ready.hardState;
    if (ready.entries.length === 0) {
      if (hardState === undefined) return undefined;
      const stored = this.stored;
      if (hardState.term === stored.term && hardState.vote === stored.vote && hardState.nonVoting === stored.nonVoting) {
        this.unwrittenCommit = hardState;
        return undefined;
      }
    }
    return this.write({ hardState: hardState ?? this.unwrittenCommit, entries: ready.entries });
  }

  /** Writes a commit index held back, if any (a local snapshot must not pass the durable one); undefined when none is. */
  flushCommit(): Promise<void> | undefined {
    const hardState = this.unwrittenCommit;
    return hardState === undefined ? undefined : this.write({ hardState, entries: [] });
  }

  private write(update: { hardState: HardState | undefined; entries: readonly Entry[] }): Promise<void> {
    return this.diskFull.persist(() => this.storage.persist(update), () => {
      const written = update.hardState;
      if (written === undefined) return;
      this.stored = written;
      if (this.unwrittenCommit !== undefined && this.unwrittenCommit.commit <= written.commit) this.unwrittenCommit = undefined;
    });
  }
}
