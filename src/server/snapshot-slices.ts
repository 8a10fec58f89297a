/**
 * Snapshots of the key store handled a slice of keys per turn of the event loop, both
 * ways: encoding a local one, and restoring one (from disk at start, or received from
 * the leader). A million keys take seconds; done in one go they would stall heartbeats
 * and every other request of this member for as long.
 */
import { invariant } from "../assert/invariant.js";
import { type KvConfig, KvStateMachine, type SnapshotEncoder } from "../kv/index.js";
import type { SnapshotMeta } from "../raft/types.js";
import type { LocalSnapshotMeta, RaftStorage } from "../storage/index.js";
import type { Scheduler } from "./scheduler.js";

/** How a slice yields to the rest of the member: the scheduler's next turn. */
export type NextTurn = Scheduler["nextTurn"];

/** Keys encoded or restored per turn of the event loop: a few milliseconds of work at most. */
const SNAPSHOT_KEYS_PER_TURN = 5_000;

/**
 * Encodes a captured state a slice at a time between turns of the event loop (so a large
 * state never stalls heartbeats), each piece going to storage as it is made: a piece
 * lives for a turn, where holding the whole encoding until it was written left it as
 * garbage the size of the state, resident until V8's next full collection. Returns the
 * saved snapshot's meta, or undefined when storage already has one at that index or
 * after (a snapshot from the leader installed first).
 */
export async function saveLocalSnapshot(
  encoder: SnapshotEncoder,
  storage: RaftStorage,
  meta: LocalSnapshotMeta,
  nextTurn: NextTurn,
): Promise<SnapshotMeta | undefined> {
  try {
    return await storage.saveSnapshot(meta, encodedPieces(encoder, nextTurn));
  } finally {
    // Storage that refused the snapshot, or failed while writing it, left the encoding unfinished.
    encoder.abandon();
  }
}

async function* encodedPieces(encoder: SnapshotEncoder, nextTurn: NextTurn): AsyncIterable<Uint8Array> {
  while (!encoder.encodeSome(SNAPSHOT_KEYS_PER_TURN)) {
    yield* encoder.takeChunks();
    await nextTurn();
  }
  yield* encoder.finishChunks();
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
