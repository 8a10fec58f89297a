import { describe, expect, it } from "vitest";
import { KvStateMachine, encodeCommand } from "../../src/kv/index.js";
import { NODE_SCHEDULER } from "../../src/server/node-scheduler.js";
import { restoreInSlices } from "../../src/server/snapshot-slices.js";

const KEYS = 12_000;

function machineWithKeys(count: number): KvStateMachine {
  const machine = new KvStateMachine();
  const value = new Uint8Array(8);
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
