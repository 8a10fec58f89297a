import { describe, expect, it } from "vitest";
import { KvStateMachine, encodeCommand } from "../../src/kv/index.js";
import { NODE_SCHEDULER } from "../../src/server/node-scheduler.js";
import { restoreInSlices, saveLocalSnapshot } from "../../src/server/snapshot-slices.js";
import type { RaftStorage, SnapshotData } from "../../src/storage/index.js";
import type { SnapshotMeta } from "../../src/raft/types.js";

const KEYS = 12_000;

function machineWithKeys(count: number, valueBytes = 8): KvStateMachine {
  const machine = new KvStateMachine();
  const value = new Uint8Array(valueBytes);
  for (let i = 0; i < count; i++) {
    const key = new TextEncoder().encode(`k/${String(i).padStart(6, "0")}`);
    machine.apply(i + 1, encodeCommand({ stampMs: 1_700_000_000_000, command: { type: "put", key, value } }));
  }
  return machine;
}

describe("restoring a snapshot a slice at a time", () => {
  it("gives the same state and lets other work run between slices", async () => {
    const source = machineWithKeys(KEYS);
    const bytes = source.snapshot();
    let turnsSeen = 0;
    let counting = true;
    const count = (): void => {
      if (!counting) return;
      turnsSeen++;
      setImmediate(count);
    };
    setImmediate(count);
    const restored = await restoreInSlices(bytes, NODE_SCHEDULER.nextTurn);
    counting = false;
    expect(restored.digest()).toBe(source.digest());
    expect(restored.keyCount()).toBe(KEYS);
    // 12,000 keys at 5,000 per turn: the event loop ran between the slices.
    expect(turnsSeen).toBeGreaterThanOrEqual(2);
  });
});

describe("saving a local snapshot", () => {
  const META = { index: 40_000, term: 2, config: { voters: [1], learners: [] } };

  /** Storage that reads the data as it comes (or not at all), noting the encoder's turn at each piece. */
  function storageReading(read: boolean, turn: () => number): { storage: RaftStorage; pieces: { bytes: Uint8Array; turn: number }[] } {
    const pieces: { bytes: Uint8Array; turn: number }[] = [];
    const storage = {
      saveSnapshot: async (meta: Omit<SnapshotMeta, "sizeBytes" | "checksum">, data: SnapshotData): Promise<SnapshotMeta | undefined> => {
        if (!read) return undefined;
        for await (const piece of data as AsyncIterable<Uint8Array>) pieces.push({ bytes: piece, turn: turn() });
        const sizeBytes = pieces.reduce((sum, piece) => sum + piece.bytes.length, 0);
        return { ...meta, sizeBytes };
      },
    } as unknown as RaftStorage;
    return { storage, pieces };
  }

  it("hands storage each piece as it is encoded, not the whole encoding at the end", async () => {
    // About 9 MB of encoding: pieces of 1 MiB.
    const source = machineWithKeys(40_000, 200);
    let turns = 0;
    const { storage, pieces } = storageReading(true, () => turns);
    const saved = await saveLocalSnapshot(source.beginSnapshot(), storage, META, async () => { turns++; });
    const bytes = Buffer.concat(pieces.map((piece) => piece.bytes));
    expect(bytes.equals(Buffer.from(source.snapshot()))).toBe(true);
    expect(saved?.sizeBytes).toBe(bytes.length);
    // 40,000 keys at 5,000 per turn: pieces went out on every turn, the first long before the last.
    expect(turns).toBeGreaterThanOrEqual(7);
    expect(pieces[0]?.turn).toBeLessThan(turns / 2);
  });

  it("releases the capture when storage refuses the snapshot without reading it", async () => {
    const source = machineWithKeys(10);
    const encoder = source.beginSnapshot();
    const { storage, pieces } = storageReading(false, () => 0);
    expect(await saveLocalSnapshot(encoder, storage, META, async () => undefined)).toBeUndefined();
    expect(pieces).toHaveLength(0);
    // Abandoned: it reports itself done without encoding anything more.
    expect(encoder.encodeSome(1)).toBe(true);
  });
});
