/**
 * Snapshots of the key store handled a slice of keys per turn of the event loop, both
 * ways: encoding a local one, and restoring one (from disk at start, or received from
 * the leader). A million keys take seconds; done in one go they would stall heartbeats
 * and every other request of this member for as long.
 */
import { crc32c } from "@node-rs/crc32";
import { invariant } from "../assert/invariant.js";
import { joinBytes } from "../codec/bytes.js";
import { type KvConfig, KvStateMachine, type SnapshotEncoder } from "../kv/index.js";
import type { SnapshotMeta } from "../raft/types.js";
import type { RaftStorage } from "../storage/index.js";
import type { Scheduler } from "./scheduler.js";

/** How a slice yields to the rest of the member: the scheduler's next turn. */
export type NextTurn = Scheduler["nextTurn"];

/** Keys encoded or restored per turn of the event loop: a few milliseconds of work at most. */
const SNAPSHOT_KEYS_PER_TURN = 5_000;

/**
 * Encodes a captured state a slice at a time between turns of the event loop (so a large
 * state never stalls heartbeats) and streams the pieces to storage. Returns the saved
 * snapshot's meta, or undefined when `stillCurrent` says the state was replaced meanwhile
 * (a snapshot from the leader installed while this one was encoded).
 */
export async function saveLocalSnapshot(
  encoder: SnapshotEncoder,
  storage: RaftStorage,
  meta: Omit<SnapshotMeta, "sizeBytes" | "checksum">,
  stillCurrent: () => boolean,
  nextTurn: NextTurn,
): Promise<SnapshotMeta | undefined> {
  while (!encoder.encodeSome(SNAPSHOT_KEYS_PER_TURN)) await nextTurn();
  const chunks = encoder.finishChunks();
  if (!stillCurrent() || storage.snapshotMeta().index >= meta.index) return undefined;
  let checksum = 0;
  for (const chunk of chunks) checksum = crc32c(chunk, checksum);
  const saved = { ...meta, sizeBytes: chunks.reduce((sum, chunk) => sum + chunk.length, 0), checksum };
  await storage.saveSnapshot(saved, chunks);
  return saved;
}

/** A state machine holding the snapshot's state, restored a slice at a time. */
export async function restoreInSlices(bytes: Uint8Array, nextTurn: NextTurn, config?: Partial<KvConfig>): Promise<KvStateMachine> {
  const restore = KvStateMachine.beginRestore(bytes, config);
  for (;;) {
    const machine = restore.step(SNAPSHOT_KEYS_PER_TURN);
    if (machine !== undefined) return machine;
    await nextTurn();
  }
}

/** A state machine holding the state of storage's snapshot `meta`, restored a slice at a time. */
export async function restoreFromStorage(storage: RaftStorage, meta: SnapshotMeta, nextTurn: NextTurn, config?: Partial<KvConfig>): Promise<KvStateMachine> {
  const source = storage.readSnapshotData(meta);
  invariant(source !== undefined, () => `the snapshot at ${meta.index} is readable from storage`);
  const parts: Uint8Array[] = [];
  for await (const part of source) parts.push(part);
  return restoreInSlices(joinBytes(parts), nextTurn, config);
}
