import { describe, expect, it } from "vitest";
import type { KvCommand, KvResult } from "../../src/kv/index.js";
import { Replica, utf8 } from "./helpers.js";

/**
 * Each scenario starts from a store where "k" was written at index 1 and rewritten at
 * index 2 (version 2, createVersion 1) and "gone" never existed; then one command
 * runs at index 3.
 */
interface Scenario {
  readonly name: string;
  readonly command: KvCommand;
  readonly expected: Partial<KvResult> & { ok: boolean };
  readonly valueAfter: string | undefined;
}

const k = utf8("k");
const gone = utf8("gone");
const v = utf8("new");

const scenarios: Scenario[] = [
  {
    name: "put without expectVersion overwrites and keeps createVersion",
    command: { type: "put", key: k, value: v },
    expected: { ok: true, kind: "stored", revision: 3, version: 3, createVersion: 1 },
    valueAfter: "new",
  },
  {
    name: "put with the current version succeeds",
    command: { type: "put", key: k, value: v, expectVersion: 2 },
    expected: { ok: true, kind: "stored", version: 3 },
    valueAfter: "new",
  },
  {
    name: "put with a stale version fails with version-mismatch and the current version",
    command: { type: "put", key: k, value: v, expectVersion: 1 },
    expected: { ok: false, error: "version-mismatch", currentVersion: 2, revision: 3 },
    valueAfter: "second",
  },
  {
    name: "put with expectVersion 0 on a present key fails: 0 means must not exist",
    command: { type: "put", key: k, value: v, expectVersion: 0 },
    expected: { ok: false, error: "version-mismatch", currentVersion: 2 },
    valueAfter: "second",
  },
  {
    name: "put with expectVersion 0 on an absent key creates it",
    command: { type: "put", key: gone, value: v, expectVersion: 0 },
    expected: { ok: true, kind: "stored", version: 3, createVersion: 3 },
    valueAfter: "second",
  },
  {
    name: "put with a nonzero expectVersion on an absent key reports current version 0",
    command: { type: "put", key: gone, value: v, expectVersion: 2 },
    expected: { ok: false, error: "version-mismatch", currentVersion: 0 },
    valueAfter: "second",
  },
  {
    name: "delete with the current version deletes and reports it",
    command: { type: "delete", key: k, expectVersion: 2 },
    expected: { ok: true, kind: "deleted", previousVersion: 2 },
    valueAfter: undefined,
  },
  {
    name: "delete with a stale version fails",
    command: { type: "delete", key: k, expectVersion: 1 },
    expected: { ok: false, error: "version-mismatch", currentVersion: 2 },
    valueAfter: "second",
  },
  {
    name: "delete of an absent key is not-found",
    command: { type: "delete", key: gone },
    expected: { ok: false, error: "not-found" },
    valueAfter: "second",
  },
  {
    name: "delete of an absent key with expectVersion 0 is not-found (nothing to delete)",
    command: { type: "delete", key: gone, expectVersion: 0 },
    expected: { ok: false, error: "not-found" },
    valueAfter: "second",
  },
];

describe("compare-and-swap on versions", () => {
  it.each(scenarios)("$name", ({ command, expected, valueAfter }) => {
    const replica = new Replica();
    replica.put("k", "first");
    replica.put("k", "second");
    const result = replica.apply(command);
    expect(result).toMatchObject(expected);
    expect(replica.value("k")).toBe(valueAfter);
    expect(replica.machine.appliedIndex).toBe(3);
  });

  it("a key deleted and written again gets a new createVersion", () => {
    const replica = new Replica();
    replica.put("k", "a");
    replica.apply({ type: "delete", key: k });
    expect(replica.put("k", "b")).toMatchObject({ version: 3, createVersion: 3 });
    const got = replica.machine.get(k, replica.stampMs);
    expect(got).toMatchObject({ ok: true, revision: 3, kv: { version: 3, createVersion: 3 } });
  });

  it("a failed write still advances the applied index and carries it as revision", () => {
    const replica = new Replica();
    expect(replica.apply({ type: "delete", key: k })).toMatchObject({ ok: false, revision: 1 });
    expect(replica.machine.appliedIndex).toBe(1);
    expect(replica.machine.get(k, 0)).toMatchObject({ ok: false, revision: 1, error: "not-found" });
  });

  it("flags are stored per key and replaced by every put", () => {
    const replica = new Replica();
    replica.put("k", "a", { flags: 0xffff_ffff });
    expect(replica.machine.get(k, 0)).toMatchObject({ kv: { flags: 0xffff_ffff } });
    replica.put("k", "b");
    expect(replica.machine.get(k, 0)).toMatchObject({ kv: { flags: 0 } });
  });
});
