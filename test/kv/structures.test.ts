import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { keyBytes, keyId } from "../../src/kv/bytes.js";
import { ExpiryQueue, type ExpiryEntry } from "../../src/kv/expiry-queue.js";
import { SortedKeys } from "../../src/kv/sorted-keys.js";

describe("SortedKeys matches a sorted array", () => {
  // Few distinct ids, many operations: chunks split (1024 ids) and empty out.
  const id = fc.integer({ min: 0, max: 3_000 }).map((n) => n.toString(36));
  const operation = fc.record({ insert: fc.boolean(), id });

  it("after any inserts and removes, iterating from any id gives the same ids", () => {
    fc.assert(
      fc.property(fc.array(operation, { maxLength: 6_000, size: "max" }), id, fc.boolean(), (operations, start, exclusive) => {
        const keys = new SortedKeys();
        const model = new Set<string>();
        for (const { insert, id: key } of operations) {
          const changed = insert ? keys.insert(key) : keys.remove(key);
          expect(changed).toBe(insert ? !model.has(key) : model.has(key));
          if (insert) model.add(key);
          else model.delete(key);
        }
        const sorted = [...model].sort();
        expect(keys.size).toBe(sorted.length);
        expect([...keys.from("", false)]).toStrictEqual(sorted);
        expect([...keys.from(start, exclusive)]).toStrictEqual(sorted.filter((key) => (exclusive ? key > start : key >= start)));
      }),
      { numRuns: 60 },
    );
  });
});

describe("ExpiryQueue pops in (expiresAtMs, id) order", () => {
  it("matches sorting, ties broken by id", () => {
    const entry = fc.record({ expiresAtMs: fc.integer({ min: 0, max: 20 }), id: fc.constantFrom("a", "b", "c", "d\u0000", "d") }, { noNullPrototype: true });
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 200 }), fc.boolean(), (entries, rebuild) => {
        const queue = new ExpiryQueue();
        if (rebuild) queue.rebuild([...entries]);
        else for (const e of entries) queue.push(e);
        const popped: ExpiryEntry[] = [];
        for (let next = queue.pop(); next !== undefined; next = queue.pop()) popped.push(next);
        const sorted = [...entries].sort((x, y) => x.expiresAtMs - y.expiresAtMs || (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
        expect(popped).toStrictEqual(sorted);
      }),
    );
  });
});

describe("keyBytes inverts keyId", () => {
  it("gives back any bytes, also past keyId's 4096-byte chunks", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 9_000 }), (key) => {
        expect(keyBytes(keyId(key))).toStrictEqual(key);
      }),
      { numRuns: 50 },
    );
  });
});
