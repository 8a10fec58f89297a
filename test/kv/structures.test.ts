import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compareBytes } from "../../src/kv/bytes.js";
import { ExpiryQueue } from "../../src/kv/expiry-queue.js";
import { KeyHashIndex, hashKey } from "../../src/kv/key-hash-index.js";
import { NO_SLOT, RecordTable } from "../../src/kv/record-table.js";
import { SortedSlots } from "../../src/kv/sorted-keys.js";

const EMPTY = new Uint8Array(0);
const encode = (text: string): Uint8Array => new TextEncoder().encode(text);

/** Every slot a cursor yields, in order. */
function slotsFrom(order: SortedSlots, start: Uint8Array, exclusive: boolean): number[] {
  const cursor = order.from(start, exclusive);
  const slots: number[] = [];
  for (let slot = cursor.next(); slot !== NO_SLOT; slot = cursor.next()) slots.push(slot);
  return slots;
}

describe("SortedSlots and KeyHashIndex match a sorted array and a Map", () => {
  // Few distinct keys, many operations: chunks split (1024 slots) and empty out, and the
  // hash table grows and shifts entries back on removal.
  const name = fc.integer({ min: 0, max: 3_000 }).map((n) => n.toString(36));
  const operation = fc.record({ insert: fc.boolean(), name });

  it("after any inserts and removes, finding any key and iterating from any key give the model's answers", () => {
    fc.assert(
      fc.property(fc.array(operation, { maxLength: 6_000, size: "max" }), name, fc.boolean(), (operations, start, exclusive) => {
        const table = new RecordTable();
        const order = new SortedSlots(table);
        const index = new KeyHashIndex(table);
        const model = new Map<string, number>();
        for (const { insert, name: text } of operations) {
          const key = encode(text);
          const slot = index.find(key, hashKey(key));
          expect(slot).toBe(model.get(text) ?? NO_SLOT);
          if (insert && slot === NO_SLOT) {
            const added = table.add(key, EMPTY, hashKey(key));
            index.insert(added);
            order.insert(added, key);
            model.set(text, added);
          } else if (!insert && slot !== NO_SLOT) {
            index.remove(slot);
            expect(order.remove(slot, key)).toBe(true);
            table.release(slot);
            model.delete(text);
          }
        }
        const sorted = [...model.keys()].sort();
        expect(order.size).toBe(sorted.length);
        expect(index.size).toBe(sorted.length);
        const names = (slots: number[]) => slots.map((slot) => new TextDecoder().decode(table.keyView(slot)));
        expect(names(slotsFrom(order, EMPTY, false))).toStrictEqual(sorted);
        const expected = sorted.filter((key) => (exclusive ? key > start : key >= start));
        expect(names(slotsFrom(order, encode(start), exclusive))).toStrictEqual(expected);
      }),
      { numRuns: 40 },
    );
  });
});

describe("ExpiryQueue pops in expiry order", () => {
  it("matches sorting by expiresAtMs, carrying each entry's slot and generation", () => {
    const entry = fc.record({ expiresAtMs: fc.integer({ min: 0, max: 20 }), slot: fc.nat({ max: 100 }), generation: fc.nat({ max: 3 }) });
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 300 }), (entries) => {
        const queue = new ExpiryQueue();
        for (const e of entries) queue.push(e.expiresAtMs, e.slot, e.generation);
        const popped: { expiresAtMs: number; slot: number; generation: number }[] = [];
        for (let expiresAtMs = queue.peekMs(); expiresAtMs !== undefined; expiresAtMs = queue.peekMs()) {
          popped.push({ expiresAtMs, slot: queue.peekSlot(), generation: queue.peekGeneration() });
          queue.pop();
        }
        expect(popped.map((e) => e.expiresAtMs)).toStrictEqual(entries.map((e) => e.expiresAtMs).sort((a, b) => a - b));
        const canonical = (list: typeof popped) => list.map((e) => `${e.expiresAtMs}/${e.slot}/${e.generation}`).sort();
        expect(canonical(popped)).toStrictEqual(canonical(entries));
      }),
    );
  });
});

describe("compareBytes", () => {
  it("orders byte strings as the sorted order of their latin1 strings does", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 6 }), fc.uint8Array({ maxLength: 6 }), (a, b) => {
        const latin1 = (bytes: Uint8Array) => String.fromCharCode(...bytes);
        expect(Math.sign(compareBytes(a, b))).toBe(latin1(a) < latin1(b) ? -1 : latin1(a) > latin1(b) ? 1 : 0);
      }),
    );
  });
});
