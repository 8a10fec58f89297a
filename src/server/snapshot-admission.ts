/**
 * A snapshot from the leader is installed only if it decodes (issue 15). Raft checks the
 * whole data's CRC32C as it takes the last chunk (raft/follower.ts), but a snapshot whose
 * checksum matches and whose key-value state does not decode (a leader's bug, a malicious
 * member) would stop this member when it is restored, after Raft installed it.
 *
 * So the last chunk of a transfer is held back: the bytes of its earlier chunks (as Raft
 * handed them out to be written) and its own are decoded, a slice per turn of the event
 * loop, and only then is it stepped. One that does not decode, or holds another index
 * than its meta's, is stepped with a refusal: Raft drops the transfer as for a checksum
 * mismatch (the host discards the bytes, logs, counts; the leader sends it again). One
 * that decodes is stepped plainly, and the state decoded is the one the replica then
 * installs: a snapshot is decoded once, as before, only earlier.
 *
 * The bytes of a transfer under way are kept in memory (references to the chunks Raft
 * handed out), as much as the restore reads at once anyway.
 */
import { crc32c } from "@node-rs/crc32";
import { joinBytes } from "../codec/bytes.js";
import type { KvConfig, KvStateMachine } from "../kv/index.js";
import type { SnapshotChunk } from "../raft/messages.js";
import type { RaftNode } from "../raft/raft.js";
import type { SnapshotChunkWrite } from "../raft/ready.js";
import type { SnapshotMeta } from "../raft/types.js";
import { type NextTurn, restoreInSlices } from "./snapshot-slices.js";

/** The Raft core's side: whether stepping a chunk now would install its snapshot, the edge checks, and the step (a refusal: it must not be). */
export type SnapshotAdmissionRaft = Pick<RaftNode, "completesSnapshot" | "refusalOf" | "step">;

/** The data of one transfer handed out by Raft so far, in order. */
interface Received {
  readonly transferId: number;
  readonly meta: SnapshotMeta;
  readonly parts: Uint8Array[];
  bytes: number;
}

export class SnapshotAdmission {
  private received: Received | undefined;
  /** The last chunk being checked (one at a time: a newer one supersedes it). */
  private held: SnapshotChunk | undefined;
  /** Called when Raft hands out chunks, or the admission closes: a held chunk may be waiting for its earlier bytes. */
  private waiting: Array<() => void> = [];
  /** The state of a snapshot that decoded, until the replica installs it. */
  private admitted: { readonly meta: SnapshotMeta; readonly kv: KvStateMachine } | undefined;
  private closed = false;
  private decodes = 0;

  /**
   * `stepped`: runs the ready loop after a held chunk is stepped; `kvConfig`: of the state
   * machine restored into; `failed`: an error of the core as it steps a held chunk (as
   * stepping it at once would have thrown: an invariant of the core broken); `nextTurn`:
   * how a decode in slices yields (the member's scheduler).
   */
  constructor(
    private readonly raft: SnapshotAdmissionRaft,
    private readonly stepped: () => void,
    private readonly kvConfig: () => Partial<KvConfig>,
    private readonly failed: (error: Error) => void,
    private readonly nextTurn: NextTurn,
  ) {}

  /**
   * Takes `m` if it is the last chunk of a snapshot that Raft would install: it is stepped
   * once its snapshot is checked, and the caller must not step it. A copy of a chunk held
   * already (the leader resends an unanswered chunk) is dropped: the first one's answer goes.
   */
  hold(m: SnapshotChunk): boolean {
    if (this.closed || !m.done) return false;
    const held = this.held;
    if (held !== undefined && held.from === m.from && held.term === m.term && held.transferId === m.transferId && held.offset === m.offset) return true;
    if (!this.raft.completesSnapshot(m)) return false;
    this.held = m;
    this.check(m).catch((error: unknown) => this.failed(error instanceof Error ? error : new Error(String(error))));
    return true;
  }

  /** The chunks of a Ready, as Raft hands them out (before they are written). */
  taken(chunks: readonly SnapshotChunkWrite[]): void {
    for (const chunk of chunks) {
      const r = this.received;
      if (chunk.refusal !== undefined || chunk.done) {
        // The transfer ended: refused, or installed (its state, if admitted, waits in `admitted`).
        this.received = undefined;
        if (chunk.refusal !== undefined) this.admitted = undefined;
      } else if (chunk.offset === 0 || r === undefined || r.transferId !== chunk.transferId || r.meta.index !== chunk.meta.index) {
        this.received = { transferId: chunk.transferId, meta: chunk.meta, parts: [chunk.data], bytes: chunk.data.length };
        this.admitted = undefined;
      } else {
        r.parts.push(chunk.data);
        r.bytes += chunk.data.length;
      }
    }
    if (chunks.length > 0) this.wakeAll();
  }

  /** The decoded state of `meta`'s snapshot if it was admitted here (once: it is handed over). */
  take(meta: SnapshotMeta): KvStateMachine | undefined {
    const admitted = this.admitted;
    this.admitted = undefined;
    if (admitted === undefined) return undefined;
    const same = admitted.meta.index === meta.index && admitted.meta.term === meta.term && admitted.meta.checksum === meta.checksum;
    return same ? admitted.kv : undefined;
  }

  /** Snapshots decoded here (each snapshot received once). */
  decoded(): number {
    return this.decodes;
  }

  /** The member stops: nothing held is stepped any more. */
  close(): void {
    this.closed = true;
    this.received = undefined;
    this.admitted = undefined;
    this.wakeAll();
  }

  private wakeAll(): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (const wake of waiting) wake();
  }

  private async check(m: SnapshotChunk): Promise<void> {
    const before = await this.bytesBefore(m);
    if (this.held !== m || this.closed) return; // Superseded by a newer transfer's last chunk, or stopped.
    if (before === undefined) {
      // Not the transfer Raft receives any more (a newer one began): dropped, as stale.
      this.held = undefined;
      return;
    }
    const data = joinBytes([...before, m.data]);
    // Bytes that fail the checksum are Raft's to refuse (follower.ts), with that reason.
    const refusal = m.meta.checksum !== undefined && crc32c(data) !== m.meta.checksum ? undefined : await this.decode(m, data);
    if (this.held !== m || this.closed) {
      this.admitted = undefined;
      return;
    }
    this.release(m, refusal);
  }

  private release(m: SnapshotChunk, refusal?: string): void {
    this.held = undefined;
    // Checked at the edge when it came, it is stepped later: the core may have moved since
    // (say, its commit index passed the snapshot's). Then it is stale, and dropped.
    if (this.raft.refusalOf(m) !== undefined) {
      this.admitted = undefined;
      return;
    }
    this.raft.step(m, refusal);
    this.stepped();
  }

  /** Decodes the snapshot; keeps its state and returns undefined, or returns why it must be refused. */
  private async decode(m: SnapshotChunk, data: Uint8Array): Promise<string | undefined> {
    const about = `the snapshot at index ${m.meta.index} (term ${m.meta.term}, ${m.meta.sizeBytes} bytes) from member ${m.from}`;
    this.decodes++;
    let kv: KvStateMachine;
    try {
      kv = await restoreInSlices(data, this.nextTurn, this.kvConfig());
    } catch (error) {
      return `${about} does not decode: ${error instanceof Error ? error.message : String(error)}`;
    }
    if (kv.appliedIndex !== m.meta.index) return `${about} holds the state at index ${kv.appliedIndex}`;
    this.admitted = { meta: m.meta, kv };
    return undefined;
  }

  /**
   * The data of `m`'s transfer before `m`, once Raft has handed all of it out (the ready
   * loop may not have taken some of its chunks yet); undefined if Raft no longer takes
   * `m` as the end of the transfer it receives.
   */
  private async bytesBefore(m: SnapshotChunk): Promise<readonly Uint8Array[] | undefined> {
    if (m.offset === 0) return [];
    for (;;) {
      if (this.closed || this.held !== m) return undefined;
      const r = this.received;
      if (r !== undefined && r.transferId === m.transferId && r.meta.index === m.meta.index && r.bytes >= m.offset) {
        return r.bytes === m.offset ? r.parts : undefined;
      }
      // Raft took the chunks before `m` (completesSnapshot): they are in a Ready to come.
      if (!this.raft.completesSnapshot(m)) return undefined;
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
  }
}
