import { invariant } from "../assert/invariant.js";
import type { Ready } from "../raft/ready.js";
import type { SnapshotMeta } from "../raft/types.js";
import type { IncomingSnapshot, RaftStorage } from "../storage/index.js";

/**
 * A snapshot being received from the leader, chunk by chunk, as the core hands the chunks
 * out in its Readies: written to storage as they come, finished when the core installs
 * the snapshot, and discarded when the core refuses it (its data failed the checksum or
 * does not decode, raft/follower.ts) or a newer transfer replaces it.
 */
export class IncomingSnapshotWriter {
  private incoming: IncomingSnapshot | undefined;
  /** Snapshots from the leader refused (kvraft_raft_snapshots_refused_total). */
  private refusedCount = 0;

  constructor(private readonly storage: RaftStorage, private readonly onRefused: (meta: SnapshotMeta, reason: string) => void) {}

  get refused(): number {
    return this.refusedCount;
  }

  /** Writes the Ready's chunks; finishes the snapshot when the Ready installs one. */
  async persist(ready: Ready): Promise<void> {
    for (const chunk of ready.snapshotChunks) {
      if (chunk.refusal !== undefined) {
        await this.refuse(chunk.meta, chunk.refusal);
        continue;
      }
      if (chunk.offset === 0 || this.incoming === undefined || this.incoming.meta.index !== chunk.meta.index) {
        if (this.incoming !== undefined) await this.incoming.abort();
        this.incoming = await this.storage.beginIncoming(chunk.meta);
      }
      await this.incoming.writeChunk(chunk.offset, chunk.data);
    }
    if (ready.snapshot !== undefined) {
      const incoming = this.incoming;
      invariant(incoming !== undefined, () => `a snapshot to install at ${ready.snapshot?.index} was received in chunks`);
      await incoming.finish();
      this.incoming = undefined;
    }
  }

  /** Drops what is being received (the member is stopping). */
  async abort(): Promise<void> {
    const incoming = this.incoming;
    this.incoming = undefined;
    if (incoming !== undefined) await incoming.abort();
  }

  /** The core refused the snapshot: its bytes go, nothing is installed. */
  private async refuse(meta: SnapshotMeta, reason: string): Promise<void> {
    // The core dropped the transfer: whatever is being received is of it, or older.
    await this.abort();
    this.refusedCount++;
    this.onRefused(meta, reason);
  }
}
