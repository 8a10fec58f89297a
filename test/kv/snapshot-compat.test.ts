import { describe, expect, it } from "vitest";
import { KvStateMachine, encodeCommand } from "../../src/kv/index.js";
import { DEDICATED_BLOCK_BYTES_MIN } from "../../src/kv/slab-arena.js";
import { fromUtf8, utf8 } from "./helpers.js";

/**
 * A snapshot written by the key store before it was compact (a Map of records keyed by
 * string ids), of: a session, keys with flags, a TTL, binary bytes (0x00, 0xff), a counter
 * after incr and touch, an append, a rewrite, an empty value, a deleted key and a pending
 * delayed flush. Its digest was printed by that build too.
 */
const MAP_STORE_SNAPSHOT_HEX =
  "4b56534d020dea08018acb1e050300ff0104090807000000000004040005616c706861096f6e652d616761696e000000070a020004626574610374776f00000000030301e6dc0307636f756e7465720234320000000006050196b20705656d70747900000000000c0c000101860800010003030303";
const MAP_STORE_DIGEST = "6cb75344f4335e5b";

describe("snapshots of the compact key store", () => {
  it("decodes a snapshot the map-based store wrote, to the same state, bytes and digest", () => {
    const bytes = Uint8Array.from(Buffer.from(MAP_STORE_SNAPSHOT_HEX, "hex"));
    const machine = KvStateMachine.restore(bytes);
    expect(machine.digest()).toBe(MAP_STORE_DIGEST);
    expect(machine.snapshot()).toStrictEqual(bytes);
    expect(machine.keyCount()).toBe(5);
    expect(machine.sizeBytes()).toBe(42);
    const get = (key: Uint8Array) => machine.get(key, machine.lastStampMs);
    const alpha = get(utf8("alpha"));
    expect(alpha.ok && { value: fromUtf8(alpha.kv.value), flags: alpha.kv.flags, version: alpha.kv.version }).toStrictEqual({ value: "one-again", flags: 7, version: 10 });
    const binary = get(new Uint8Array([0, 255, 1]));
    expect(binary.ok && binary.kv.value).toStrictEqual(new Uint8Array([9, 8, 7, 0]));
    const counter = get(utf8("counter"));
    expect(counter.ok && { value: fromUtf8(counter.kv.value), expires: counter.kv.expiresAtMs !== undefined }).toStrictEqual({ value: "42", expires: true });
    expect(get(utf8("gone")).ok).toBe(false);
    expect(machine.list(new Uint8Array(0), { limit: 10 }).entries.map((kv) => kv.key)).toStrictEqual(
      [new Uint8Array([0, 255, 1]), utf8("alpha"), utf8("beta"), utf8("counter"), utf8("empty")],
    );
  });

  it("round-trips thousands of keys across size classes and dedicated blocks, a slice at a time", () => {
    const KEYS = 2_000;
    const source = new KvStateMachine();
    const sizes = [0, 1, 255, 1_000, 5_000, DEDICATED_BLOCK_BYTES_MIN + 3];
    for (let i = 0; i < KEYS; i++) {
      const key = utf8(`k/${((i * 7919) % KEYS).toString(36)}`);
      const value = new Uint8Array(sizes[i % sizes.length] as number).fill(i & 0xff);
      const command = i % 5 === 4 ? { type: "delete" as const, key: utf8(`k/${((i - 1) * 7919 % KEYS).toString(36)}`) } : { type: "put" as const, key, value, flags: i, ...(i % 3 === 0 ? { ttlMs: 1_000_000 } : {}) };
      source.apply(i + 1, encodeCommand({ stampMs: 1_000 + i, command }));
    }
    const bytes = source.snapshot();
    const restore = KvStateMachine.beginRestore();
    restore.feed(bytes, true);
    let restored: KvStateMachine | undefined;
    while (restored === undefined) restored = restore.step(97);
    expect(restored.keyCount()).toBe(source.keyCount());
    expect(restored.sizeBytes()).toBe(source.sizeBytes());
    // Buffer.equals: a deep compare of megabytes element by element takes minutes.
    expect(Buffer.from(restored.snapshot()).equals(Buffer.from(bytes))).toBe(true);
    expect(restored.digest()).toBe(source.digest());
    // The restored store goes on like the source: the same write gives the same state.
    for (const machine of [source, restored]) machine.apply(KEYS + 1, encodeCommand({ stampMs: 5_000, command: { type: "put", key: utf8("k/0"), value: utf8("after") } }));
    expect(restored.digest()).toBe(source.digest());
  });
});
