import { describe, expect, it } from "vitest";
import { KvStateMachine } from "../../src/kv/index.js";
import { Replica, T0_MS } from "./helpers.js";

/** Every byte value once, high ones too: the store keeps a key only as its id (one code unit per byte). */
const EVERY_BYTE = Uint8Array.from({ length: 256 }, (_, i) => 255 - i);

describe("keys are stored as ids and come back byte for byte", () => {
  it("from get, list, watch events, expiry events and a restored snapshot", () => {
    const replica = new Replica();
    replica.apply({ type: "put", key: EVERY_BYTE, value: Uint8Array.of(1), ttlMs: 1_000 });
    replica.apply({ type: "append", key: EVERY_BYTE, value: Uint8Array.of(2) });
    const { machine } = replica;

    const got = machine.get(EVERY_BYTE, T0_MS);
    expect(got.ok && got.kv.key).toStrictEqual(EVERY_BYTE);
    expect(machine.list(EVERY_BYTE.subarray(0, 3), { limit: 10 }).entries.map((kv) => kv.key)).toStrictEqual([EVERY_BYTE]);
    const restored = KvStateMachine.restore(machine.snapshot());
    const fromSnapshot = restored.get(EVERY_BYTE, T0_MS);
    expect(fromSnapshot.ok && fromSnapshot.kv.key).toStrictEqual(EVERY_BYTE);
    expect(restored.sizeBytes()).toBe(256 + 2);

    replica.apply({ type: "tick" }, T0_MS + 1_000);
    const history = machine.eventsSince(1);
    if (!history.ok) throw new Error(history.message);
    const { events } = history;
    expect(events.map((event) => event.type)).toStrictEqual(["put", "put", "delete"]);
    for (const event of events) expect("key" in event && event.key).toStrictEqual(EVERY_BYTE);
    expect(machine.sizeBytes()).toBe(0);
  });
});
