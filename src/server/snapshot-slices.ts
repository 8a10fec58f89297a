/**
 * Snapshots of the key store handled a slice of keys per turn of the event loop, both
 * ways: encoding a local one, and restoring one (from disk at start, or received from
 * the leader). A million keys take seconds; done in one go they would stall heartbeats
 * and every other request of this member for as long.
 */
import { crc32c } from "@node-rs/crc32";
import { invariant } from "../assert/invariant.js";
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
export function restoreInSlices(bytes: Uint8Array, nextTurn: NextTurn, config?: Partial<KvConfig>): Promise<KvStateMachine> {
  return restoreFromPieces([bytes], nextTurn, config);
}

/** A state machine holding the state of storage's snapshot `meta`, restored a slice at a time as it is read. */
export function restoreFromStorage(storage: RaftStorage, meta: SnapshotMeta, nextTurn: NextTurn, config?: Partial<KvConfig>): Promise<KvStateMachine> {
  const source = storage.readSnapshotData(meta);
  invariant(source !== undefined, () => `the snapshot at ${meta.index} is readable from storage`);
  return restoreFromPieces(source, nextTurn, config);
}

/**
 * A state machine restored from a snapshot's pieces as they come, `keysPerStep` keys
 * between pauses: it holds a piece or two at a time, never the whole encoding, whose
 * garbage would otherwise stay resident until the next full collection.
 */
export async function restoreFromPieces(
  pieces: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  pause: () => Promise<unknown>,
  config?: Partial<KvConfig>,
  keysPerStep = SNAPSHOT_KEYS_PER_TURN,
): Promise<KvStateMachine> {
  const restore = KvStateMachine.beginRestore(config);
  for await (const piece of pieces) {
    restore.feed(piece, false);
    while (!restore.needsInput) {
      restore.step(keysPerStep);
      await pause();
    }
  }
  restore.feed(NO_BYTES, true);
  for (;;) {
    const machine = restore.step(keysPerStep);
    if (machine !== undefined) return machine;
    await pause();
  }
}

const NO_BYTES = new Uint8Array(0);
