import { describe, expect, it } from "vitest";
import { KvArgumentError, ListingExpiredError, type ListOptions } from "../../src/kv/index.js";
import { Replica, T0_MS, fromUtf8, utf8 } from "./helpers.js";

function pageKeys(replica: Replica, prefix: string, options: ListOptions): { keys: string[]; nextAfter?: string } {
  const page = replica.machine.list(utf8(prefix), options);
  const keys = page.entries.map((entry) => fromUtf8(entry.key));
  return page.nextAfter === undefined ? { keys } : { keys, nextAfter: fromUtf8(page.nextAfter) };
}

/** Every page of a prefix, following the continuation keys. */
function allPages(replica: Replica, prefix: string, limit: number): string[][] {
  const pages: string[][] = [];
  let after: Uint8Array | undefined;
  do {
    const page = replica.machine.list(utf8(prefix), after === undefined ? { limit } : { limit, after });
    pages.push(page.entries.map((entry) => fromUtf8(entry.key)));
    after = page.nextAfter;
  } while (after !== undefined);
  return pages;
}

describe("list", () => {
  const keys = ["a", "a/1", "a/2", "a/3", "a0", "b", "a/\u00ff", "a/10"];

  it.each([
    {
      name: "lists a prefix in byte order",
      prefix: "a/",
      options: { limit: 10 },
      expected: { keys: ["a/1", "a/10", "a/2", "a/3", "a/\u00ff"] },
    },
    {
      name: "an empty prefix lists everything",
      prefix: "",
      options: { limit: 3 },
      expected: { keys: ["a", "a/1", "a/10"], nextAfter: "a/10" },
    },
    {
      name: "a full page carries the continuation key",
      prefix: "a/",
      options: { limit: 2 },
      expected: { keys: ["a/1", "a/10"], nextAfter: "a/10" },
    },
    {
      name: "a page ending exactly at the last key has no continuation",
      prefix: "a/",
      options: { limit: 5 },
      expected: { keys: ["a/1", "a/10", "a/2", "a/3", "a/\u00ff"] },
    },
    {
      name: "after is exclusive",
      prefix: "a/",
      options: { limit: 2, after: utf8("a/10") },
      expected: { keys: ["a/2", "a/3"], nextAfter: "a/3" },
    },
    {
      name: "after a key that does not exist starts at the next one",
      prefix: "a/",
      options: { limit: 9, after: utf8("a/25") },
      expected: { keys: ["a/3", "a/\u00ff"] },
    },
    {
      name: "after below the prefix starts at the prefix",
      prefix: "a/",
      options: { limit: 1, after: utf8("0") },
      expected: { keys: ["a/1"], nextAfter: "a/1" },
    },
    { name: "after beyond the prefix lists nothing", prefix: "a/", options: { limit: 1, after: utf8("b") }, expected: { keys: [] } },
    { name: "a prefix with no keys lists nothing", prefix: "zz", options: { limit: 4 }, expected: { keys: [] } },
  ])("$name", ({ prefix, options, expected }) => {
    const replica = new Replica();
    for (const key of keys) replica.put(key, "v");
    expect(pageKeys(replica, prefix, options)).toStrictEqual(expected);
  });

  it("pages cover every key once, in order, for every page size", () => {
    const replica = new Replica();
    const all = Array.from({ length: 3_000 }, (_, i) => `p/${(i * 7919) % 3_000}`);
    for (const key of all) replica.put(key, "v");
    replica.put("q", "not in the prefix");
    const sorted = [...all].sort();
    for (const limit of [1, 7, 1_000, 2_999, 3_000, 5_000]) {
      expect(allPages(replica, "p/", limit).flat()).toStrictEqual(sorted);
    }
  });

  it("skips keys expired at the read stamp and reports the current revision", () => {
    const replica = new Replica();
    replica.put("a", "v", { ttlMs: 10 });
    replica.put("b", "v");
    const page = replica.machine.list(utf8(""), { limit: 5, readStampMs: T0_MS + 10 });
    expect(page.entries.map((entry) => fromUtf8(entry.key))).toStrictEqual(["b"]);
    expect(page.revision).toBe(2);
  });

  it("returns copies: changing them does not change the store", () => {
    const replica = new Replica();
    replica.put("a", "v");
    const page = replica.machine.list(utf8(""), { limit: 1 });
    page.entries[0]?.value.fill(0);
    expect(replica.value("a")).toBe("v");
  });

  it.each([0, -1, 1.5, 10_001])("refuses a limit of %s with KvArgumentError", (limit) => {
    const replica = new Replica();
    expect(() => replica.machine.list(utf8(""), { limit })).toThrow(KvArgumentError);
  });

  describe("pages of one listing share the first page's revision", () => {
    const page = (replica: Replica, options: ListOptions): { keys: string[]; revision: number; nextAfter?: Uint8Array } => {
      const result = replica.machine.list(utf8("k/"), options);
      const keys = result.entries.map((entry) => `${fromUtf8(entry.key)}=${fromUtf8(entry.value)}`);
      return result.nextAfter === undefined ? { keys, revision: result.revision } : { keys, revision: result.revision, nextAfter: result.nextAfter };
    };

    it("later pages show the first page's state, whatever was written in between", () => {
      const replica = new Replica();
      for (const key of ["a", "b", "c", "d", "e"]) replica.put(`k/${key}`, "1");
      const first = page(replica, { limit: 2 });
      expect(first.keys).toEqual(["k/a=1", "k/b=1"]);
      replica.put("k/c", "2");
      replica.apply({ type: "delete", key: utf8("k/d") });
      replica.put("k/bb", "new");
      replica.apply({ type: "flush-all" });
      const second = page(replica, { limit: 2, after: first.nextAfter, revision: first.revision });
      expect(second).toMatchObject({ keys: ["k/c=1", "k/d=1"], revision: first.revision });
      const third = page(replica, { limit: 2, after: second.nextAfter, revision: first.revision });
      expect(third.keys).toEqual(["k/e=1"]);
      expect(third.nextAfter).toBeUndefined();
      // A new listing sees the present.
      expect(page(replica, { limit: 2 }).keys).toEqual([]);
    });

    it("a listing's pages are held for listingPinMs of log time, then it must start over", () => {
      const replica = new Replica({ listingPinMs: 1_000 });
      for (const key of ["a", "b", "c"]) replica.put(`k/${key}`, "1");
      const first = page(replica, { limit: 1 });
      replica.put("k/a", "2");
      replica.apply({ type: "tick" }, T0_MS + 999);
      expect(page(replica, { limit: 1, after: first.nextAfter, revision: first.revision }).keys).toEqual(["k/b=1"]);
      replica.apply({ type: "tick" }, T0_MS + 1_000);
      expect(() => page(replica, { limit: 1, after: first.nextAfter, revision: first.revision })).toThrow(ListingExpiredError);
    });

    it("holds at most listingPinsMax listings; the oldest goes first", () => {
      const replica = new Replica({ listingPinsMax: 2 });
      for (const key of ["a", "b"]) replica.put(`k/${key}`, "1");
      const revisions: number[] = [];
      for (let i = 0; i < 3; i++) {
        revisions.push(page(replica, { limit: 1 }).revision);
        replica.put("k/a", String(i));
      }
      expect(() => page(replica, { limit: 1, after: utf8("k/a"), revision: revisions[0] as number })).toThrow(ListingExpiredError);
      for (const revision of revisions.slice(1)) {
        expect(page(replica, { limit: 1, after: utf8("k/a"), revision }).keys).toEqual(["k/b=1"]);
      }
    });
  });
});
