/**
 * A snapshot received from the leader, written chunk by chunk into a temporary file.
 * Nothing about it is visible until `finish`: fsync, rename into place, directory fsync,
 * then the host records it in the log. Only then may the receipt be acknowledged.
 *
 * A partial snapshot is never resumed after a restart (recovery removes temporary
 * files), so chunks are not fsynced one by one: the single fsync before the rename is
 * what makes the whole snapshot durable.
 *
 * The writer computes the CRC32C of the data as chunks are written, and `finish` commits
 * nothing whose checksum is not the meta's (CorruptDataError). That is the last line: the
 * follower's Raft core already refused such a snapshot before taking its last chunk
 * (raft/follower.ts), so a mismatch here means the bytes written are not the bytes stepped.
 */
import type { SnapshotMeta } from "../raft/types.js";
import { invariant } from "../assert/invariant.js";
import { DiskFullError } from "./errors.js";
import type { SnapshotFileWriter, StoredSnapshot } from "./snapshot-store.js";
import type { IncomingSnapshot } from "./storage-types.js";

export interface IncomingSnapshotHost {
  /** Records the durable snapshot in the log and installs it (Raft §7). */
  install(stored: StoredSnapshot): Promise<void>;
  /** The transfer ended (finished or aborted): the host forgets it. */
  release(incoming: IncomingSnapshot): void;
}

export class FileIncomingSnapshot implements IncomingSnapshot {
  private received = 0;
  private ended = false;
  /** The snapshot under its final name, once committed (an install that found the disk full is tried again from here). */
  private stored: StoredSnapshot | undefined;
  /** Chunk writes run one after another, in call order. */
  private chain: Promise<void> = Promise.resolve();

  constructor(
    readonly meta: SnapshotMeta,
    private readonly writer: SnapshotFileWriter,
    private readonly host: IncomingSnapshotHost,
  ) {}

  receivedBytes(): number {
    return this.received;
  }

  writeChunk(offset: number, bytes: Uint8Array): Promise<void> {
    const run = this.chain.then(() => this.write(offset, bytes));
    this.chain = run.catch(() => undefined);
    return run;
  }

  async finish(): Promise<void> {
    await this.chain;
    invariant(!this.ended, () => `incoming snapshot ${this.meta.index} already ended`);
    invariant(this.received === this.meta.sizeBytes, () =>
      `incoming snapshot ${this.meta.index} has ${this.received} of ${this.meta.sizeBytes} bytes`);
    this.ended = true;
    try {
      this.stored ??= await this.writer.commit();
      await this.host.install(this.stored);
    } catch (error) {
      if (error instanceof DiskFullError) {
        // Nothing is lost: finish may be called again once space is back.
        this.ended = false;
        throw error;
      }
      await this.writer.discard();
      this.host.release(this);
      throw error;
    }
    this.host.release(this);
  }

  async abort(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    await this.chain;
    await this.writer.discard();
    this.host.release(this);
  }

  private async write(offset: number, bytes: Uint8Array): Promise<void> {
    invariant(!this.ended, () => `incoming snapshot ${this.meta.index} already ended`);
    invariant(Number.isSafeInteger(offset) && offset >= 0 && offset <= this.received, () =>
      `chunk at offset ${offset} leaves a gap after ${this.received} received bytes of snapshot ${this.meta.index}`);
    // A retransmitted chunk overlaps what was received: keep only its new part.
    // A chunk whose write found the disk full was taken all the same (the writer keeps its
    // bytes): sent again, it writes what is left over.
    const skip = this.received - offset;
    if (skip >= bytes.byteLength) return this.writer.flushPending();
    try {
      await this.writer.append(bytes.subarray(skip));
    } finally {
      this.received = this.writer.dataBytes();
    }
  }
}
