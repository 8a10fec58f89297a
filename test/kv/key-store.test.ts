import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { KeyStore, type KeyRecord, type ScanSource, type StoreCapture } from "../../src/kv/key-store.js";
import { COMPACTION_FREED_BYTES_MIN, DEDICATED_BLOCK_BYTES_MIN } from "../../src/kv/slab-arena.js";

/** A record as the model keeps it: plain values, the value a copy. */
interface ModelRecord {
  readonly value: Uint8Array;
  readonly flags: number;
  readonly version: number;
  readonly createVersion: number;
  readonly expiresAtMs: number | undefined;
}

type Model = Map<string, ModelRecord>;
const EMPTY = new Uint8Array(0);
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");
const unhex = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text, "hex"));

/** A record as one string (comparing strings is far faster than comparing arrays element-wise). */
function describeRecord(record: ModelRecord): string {
  const { flags, version, createVersion, expiresAtMs, value } = record;
  return `flags ${flags} version ${version}/${createVersion} expires ${expiresAtMs} value ${Buffer.from(value).toString("base64")}`;
}

/** Every record of `source` from `start`, as [hex key, record description], in order. */
function scanAll(source: ScanSource, start: Uint8Array = EMPTY, exclusive = false): [string, string][] {
  const cursor = source.scan(start, exclusive);
  const entries: [string, string][] = [];
  while (cursor.next()) entries.push([hex(cursor.key()), describeRecord(cursor.record())]);
  return entries;
}

function modelScan(model: Model, start = "", exclusive = false): [string, string][] {
  // Hex of bytes sorts as the bytes do (two lowercase digits per byte).
  const entries = [...model].filter(([key]) => (exclusive ? key > start : key >= start));
  return entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([key, record]) => [key, describeRecord(record)]);
}

function modelSizeBytes(model: Model): number {
  let bytes = 0;
  for (const [key, record] of model) bytes += key.length / 2 + record.value.length;
  return bytes;
}

/** What one step of a random run does to the store (and to the model). */
type Step =
  | { kind: "set"; key: number; valueBytes: number; fill: number; flags: number; ttlMs?: number }
  | { kind: "delete"; key: number }
  | { kind: "expire"; advanceMs: number }
  | { kind: "capture" }
  | { kind: "release"; which: number }
  | { kind: "clear" };

/** Keys of several lengths (size classes differ by key too); a few so that steps collide. */
const KEYS = Array.from({ length: 10 }, (_, i) => new Uint8Array(1 + ((i * 7) % 40)).fill(i));
/** Value sizes across small classes, the larger classes and dedicated buffers. */
const valueBytes = fc.oneof(
  fc.integer({ min: 0, max: 64 }),
  fc.integer({ min: 65, max: 3_000 }),
  fc.integer({ min: DEDICATED_BLOCK_BYTES_MIN - 60, max: DEDICATED_BLOCK_BYTES_MIN + 100 }),
);
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ kind: fc.constant("set" as const), key: fc.nat({ max: KEYS.length - 1 }), valueBytes, fill: fc.nat({ max: 255 }), flags: fc.nat(), ttlMs: fc.option(fc.integer({ min: 1, max: 50 }), { nil: undefined }) }, { requiredKeys: ["kind", "key", "valueBytes", "fill", "flags"] }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("delete" as const), key: fc.nat({ max: KEYS.length - 1 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("expire" as const), advanceMs: fc.integer({ min: 0, max: 20 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: "capture" as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("release" as const), which: fc.nat() }) },
  { weight: 1, arbitrary: fc.constant({ kind: "clear" as const }) },
);

/** Applies `steps` to a store and to a Map model, checking the store against the model after each. */
function runAgainstModel(steps: Step[]): void {
  const store = new KeyStore();
  const model: Model = new Map();
  const captures: { capture: StoreCapture; frozen: [string, string][] }[] = [];
  let nowMs = 0;
  let version = 0;
  for (const next of steps) {
    version++;
    switch (next.kind) {
      case "set": {
        const key = KEYS[next.key] as Uint8Array;
        const existing = model.get(hex(key));
        const expiresAtMs = next.ttlMs === undefined ? undefined : nowMs + next.ttlMs;
        const record: KeyRecord = { value: new Uint8Array(next.valueBytes).fill(next.fill), flags: next.flags, version, createVersion: existing?.createVersion ?? version, expiresAtMs };
        store.set(key, record);
        model.set(hex(key), record);
        break;
      }
      case "delete": {
        const key = KEYS[next.key] as Uint8Array;
        expect(store.delete(key)).toBe(model.delete(hex(key)));
        break;
      }
      case "expire": {
        nowMs += next.advanceMs;
        const due = [...model].filter(([, record]) => record.expiresAtMs !== undefined && record.expiresAtMs <= nowMs);
        due.sort(([a, x], [b, y]) => (x.expiresAtMs as number) - (y.expiresAtMs as number) || (a < b ? -1 : a > b ? 1 : 0));
        for (const [key] of due) model.delete(key);
        const removed = store.removeExpired(nowMs).map(({ key, version: removedVersion }) => [hex(key), removedVersion]);
        expect(removed).toStrictEqual(due.map(([key, record]) => [key, record.version]));
        break;
      }
      case "capture":
        captures.push({ capture: store.capture(), frozen: modelScan(model) });
        break;
      case "release": {
        const [released] = captures.splice(next.which % Math.max(1, captures.length), 1);
        released?.capture.release();
        break;
      }
      case "clear":
        expect(store.clear()).toBe(model.size);
        model.clear();
        break;
    }
    expect(store.count).toBe(model.size);
    expect(store.sizeBytes).toBe(modelSizeBytes(model));
    expect(scanAll(store)).toStrictEqual(modelScan(model));
    for (const { capture, frozen } of captures) expect(scanAll(capture)).toStrictEqual(frozen);
  }
  for (const key of KEYS) {
    const got = store.get(key);
    const expected = model.get(hex(key));
    expect(got === undefined ? undefined : describeRecord(got)).toBe(expected === undefined ? undefined : describeRecord(expected));
  }
  for (const start of [...model.keys(), "00", "1717", "ff"]) {
    expect(scanAll(store, unhex(start), true)).toStrictEqual(modelScan(model, start, true));
    expect(scanAll(store, unhex(start), false)).toStrictEqual(modelScan(model, start, false));
  }
  for (const { capture } of captures) capture.release();
}

describe("KeyStore against a Map model", () => {
  // fast-check prints the seed and path of a failing run; pass them back as
  // { seed, path } in the options below to replay exactly that run.
  it("random sets, deletes, expiries, captures and clears leave the same records, order and sizes", () => {
    fc.assert(fc.property(fc.array(step, { maxLength: 150, size: "max" }), runAgainstModel), { numRuns: 100 });
  });

  it("replays a fixed seed the same way (so a printed seed reproduces a failure)", () => {
    const sample = (): Step[][] => fc.sample(fc.array(step, { maxLength: 40 }), { seed: 19, numRuns: 3 });
    expect(sample()).toStrictEqual(sample());
    for (const steps of sample()) runAgainstModel(steps);
  });
});

describe("KeyStore arena reuse", () => {
  const KEY_COUNT = 2_000;
  const key = (i: number): Uint8Array => new TextEncoder().encode(`key-${i.toString().padStart(14, "0")}`);
  const record = (valueBytes: number, version: number): KeyRecord => ({ value: new Uint8Array(valueBytes).fill(version & 0xff), flags: 0, version, createVersion: 1, expiresAtMs: undefined });

  it("overwrites and delete-then-add of the same sizes reuse freed blocks: the arena does not grow", () => {
    const store = new KeyStore();
    for (let i = 0; i < KEY_COUNT; i++) store.set(key(i), record(256, 1));
    const reservedBytes = store.memoryBytes().arenaReservedBytes;
    for (let round = 2; round < 12; round++) {
      for (let i = 0; i < KEY_COUNT; i++) store.set(key(i), record(256, round));
      for (let i = 0; i < KEY_COUNT; i += 2) store.delete(key(i));
      for (let i = 0; i < KEY_COUNT; i += 2) store.set(key(i), record(256, round));
    }
    expect(store.memoryBytes().arenaReservedBytes).toBe(reservedBytes);
    expect(store.get(key(7))?.value).toStrictEqual(record(256, 11).value);
  });

  it("churn across size classes stays within twice the bytes in use plus the compaction slack", () => {
    const store = new KeyStore();
    const sizes = [100, 700, 3_000, 9_000, 40];
    let writtenBytes = 0;
    let peakReservedBytes = 0;
    for (let round = 0; round < 40; round++) {
      const valueBytes = sizes[round % sizes.length] as number;
      for (let i = 0; i < KEY_COUNT; i++) {
        if ((i + round) % 3 === 0) store.delete(key(i));
        else store.set(key(i), record(valueBytes, round));
        writtenBytes += valueBytes;
      }
      const { arenaReservedBytes, arenaUsedBytes } = store.memoryBytes();
      peakReservedBytes = Math.max(peakReservedBytes, arenaReservedBytes);
      // Uncarved slab tails: at most one 1 MiB slab per size class in use.
      expect(arenaReservedBytes).toBeLessThanOrEqual(2 * arenaUsedBytes + COMPACTION_FREED_BYTES_MIN + sizes.length * 1024 * 1024);
    }
    // Without reuse or compaction the arena would hold everything ever written.
    expect(peakReservedBytes).toBeLessThan(writtenBytes / 4);
  });

  it("deleting most keys compacts the arena down, and a capture taken before still reads its records", () => {
    const store = new KeyStore();
    for (let i = 0; i < KEY_COUNT; i++) store.set(key(i), record(4_000, 1));
    const capture = store.capture();
    const before = scanAll(capture);
    for (let i = 0; i < KEY_COUNT; i++) if (i % 10 !== 0) store.delete(key(i));
    // Retired for the capture, so nothing is freed yet.
    expect(store.memoryBytes().arenaFreedBytes).toBe(0);
    capture.release();
    const { arenaReservedBytes, arenaUsedBytes } = store.memoryBytes();
    expect(arenaUsedBytes).toBe((KEY_COUNT / 10) * 4_096);
    expect(arenaReservedBytes).toBeLessThan(2 * arenaUsedBytes + COMPACTION_FREED_BYTES_MIN);
    expect(before).toHaveLength(KEY_COUNT);
    expect(scanAll(store)).toStrictEqual(before.filter((_, i) => i % 10 === 0));
  });

  it("a capture reads its records through a compaction that moves every block", () => {
    const store = new KeyStore();
    for (let i = 0; i < KEY_COUNT; i++) store.set(key(i), record(2_000, 1));
    const capture = store.capture();
    const before = scanAll(capture);
    // Each round moves every value to a larger size class: freed blocks are not reused, so
    // they pile up until the arena compacts.
    const sizes = [2_500, 3_100, 3_900, 4_800, 6_000, 7_500];
    sizes.forEach((valueBytes, round) => {
      for (let i = 0; i < KEY_COUNT; i++) store.set(key(i), record(valueBytes, round + 2));
    });
    expect(store.memoryBytes().compactions).toBeGreaterThan(0);
    expect(scanAll(capture)).toStrictEqual(before);
    expect(scanAll(store).every(([, r]) => r.includes(`version ${sizes.length + 1}/1 `))).toBe(true);
    capture.release();
    expect(store.memoryBytes().arenaUsedBytes).toBe(KEY_COUNT * 7_680);
  });
});
