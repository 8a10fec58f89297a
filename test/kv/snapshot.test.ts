import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ByteWriter } from "../../src/kv/bytes.js";
import { KeyStore } from "../../src/kv/key-store.js";
import { SnapshotEncoder } from "../../src/kv/snapshot-codec.js";
import { KvStateMachine, SnapshotDecodeError, encodeCommand, fnv1a64, type KvCommand, type KvConfig } from "../../src/kv/index.js";
import { Replica, T0_MS, commandSequence, ref, utf8 } from "./helpers.js";

/** Applies `steps` to `machine`, each at the previous stamp plus its step. */
function run(machine: KvStateMachine, steps: { stepMs: number; command: KvCommand }[], startMs: number) {
  let stampMs = startMs;
  return steps.map(({ stepMs, command }) => {
    stampMs = Math.max(0, stampMs + stepMs);
    return machine.apply(machine.appliedIndex + 1, encodeCommand({ stampMs, command }));
  });
}

/** Stamp of the last step of `steps`, as `run` computes it. */
function endMs(steps: { stepMs: number }[], startMs: number): number {
  return steps.reduce((stampMs, { stepMs }) => Math.max(0, stampMs + stepMs), startMs);
}

/**
 * Restores `bytes` fed in pieces of `pieceBytes` (cycled), `slice` keys per step, as a
 * member does while it reads a snapshot; returns the machine and the steps that restored keys.
 */
function restoreInPieces(bytes: Uint8Array, pieceBytes: readonly number[], slice: number): { machine: KvStateMachine; keySteps: number } {
  const restore = KvStateMachine.beginRestore();
  let keySteps = 0;
  let offset = 0;
  for (let piece = 0; offset < bytes.length; piece++) {
    const size = pieceBytes[piece % pieceBytes.length] as number;
    restore.feed(bytes.subarray(offset, offset + size), false);
    offset += size;
    while (!restore.needsInput) {
      expect(restore.step(slice)).toBeUndefined();
      keySteps++;
    }
  }
  restore.feed(new Uint8Array(0), true);
  for (;;) {
    const machine = restore.step(slice);
    if (machine !== undefined) return { machine, keySteps };
    keySteps++;
  }
}

const tightLimits: Partial<KvConfig> = { sessionsMax: 3, sessionRepliesMax: 2, sessionTimeoutMs: 5_000, valueBytesMax: 8, keyBytesMax: 3 };

describe("snapshot and restore", () => {
  it.each([
    { name: "default limits", config: {} },
    { name: "tight limits (evictions, refusals)", config: tightLimits },
  ])("a restored replica has the same digest and behaves the same afterwards ($name)", ({ config }) => {
    const scenario = commandSequence(80).chain((steps) => fc.record({ steps: fc.constant(steps), cut: fc.nat({ max: steps.length }) }));
    fc.assert(
      fc.property(scenario, ({ steps, cut }) => {
        const a = new KvStateMachine(config);
        run(a, steps.slice(0, cut), T0_MS);
        const bytes = a.snapshot();
        const b = KvStateMachine.restore(bytes, config);
        expect(b.digest()).toBe(a.digest());
        expect(b.snapshot()).toStrictEqual(bytes);
        const cutMs = endMs(steps.slice(0, cut), T0_MS);
        expect(run(b, steps.slice(cut), cutMs)).toStrictEqual(run(a, steps.slice(cut), cutMs));
        expect(b.digest()).toBe(a.digest());
        expect(b.sizeBytes()).toBe(a.sizeBytes());
        expect(b.list(new Uint8Array(0), { limit: 1_000 })).toStrictEqual(a.list(new Uint8Array(0), { limit: 1_000 }));
      }),
      { numRuns: 300 },
    );
  });

  it("a snapshot restored a slice of keys at a time equals one restored at once, whatever the slice", () => {
    const scenario = commandSequence(80).chain((steps) => fc.record({ steps: fc.constant(steps), slice: fc.integer({ min: 1, max: 5 }) }));
    fc.assert(
      fc.property(scenario, ({ steps, slice }) => {
        const source = new KvStateMachine();
        run(source, steps, T0_MS);
        const bytes = source.snapshot();
        const restore = KvStateMachine.beginRestore();
        restore.feed(bytes, true);
        let machine: KvStateMachine | undefined;
        let stepsTaken = 0;
        while (machine === undefined) {
          machine = restore.step(slice);
          stepsTaken++;
        }
        expect(machine.snapshot()).toStrictEqual(bytes);
        expect(machine.digest()).toBe(KvStateMachine.restore(bytes).digest());
        // One step per slice of keys (the last one returns the machine); one for no keys.
        expect(stepsTaken).toBe(Math.max(1, Math.ceil(source.keyCount() / slice)));
        expect(() => restore.step(slice)).toThrow(/invariant/);
      }),
      { numRuns: 200 },
    );
  });

  it("a snapshot fed in pieces of any size, cut anywhere in a record, restores to the same state", () => {
    const scenario = commandSequence(80).chain((steps) => fc.record({
      steps: fc.constant(steps),
      pieceBytes: fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 6 }),
      slice: fc.integer({ min: 1, max: 5 }),
    }));
    fc.assert(
      fc.property(scenario, ({ steps, pieceBytes, slice }) => {
        const source = new KvStateMachine();
        run(source, steps, T0_MS);
        const bytes = source.snapshot();
        const { machine, keySteps } = restoreInPieces(bytes, pieceBytes, slice);
        expect(machine.snapshot()).toStrictEqual(bytes);
        expect(machine.digest()).toBe(source.digest());
        // Never a step without a key to restore: each one restores at least one (the machine's step may add none).
        expect(keySteps).toBeLessThanOrEqual(source.keyCount());
      }),
      { numRuns: 300 },
    );
  });

  it("an encoding abandoned half way releases its capture once; a finished one is not released again", () => {
    const store = new KeyStore();
    for (let i = 0; i < 10; i++) store.set(utf8(`k/${i}`), { value: utf8("v"), flags: 0, version: 1, createVersion: 1, expiresAtMs: undefined });
    let releases = 0;
    const encoderOf = (): SnapshotEncoder => {
      const capture = store.capture();
      const state = { appliedIndex: 1, lastStampMs: 0, pendingFlushAtMs: undefined, keyCount: capture.count, records: capture.records(), sessions: [], release: () => { releases++; capture.release(); } };
      return new SnapshotEncoder(state, 0);
    };
    const halfWay = encoderOf();
    expect(halfWay.encodeSome(3)).toBe(false);
    halfWay.abandon();
    halfWay.abandon();
    expect(releases).toBe(1);
    expect(halfWay.encodeSome(3)).toBe(true);
    const finished = encoderOf();
    expect(finished.encodeSome(100)).toBe(true);
    expect(releases).toBe(2);
    finished.abandon();
    expect(releases).toBe(2);
  });

  it("a restore that holds back a record cut by a piece takes it whole from the next", () => {
    const source = new KvStateMachine();
    source.apply(1, encodeCommand({ stampMs: T0_MS, command: { type: "put", key: utf8("a"), value: new Uint8Array(1_000).fill(7) } }));
    const bytes = source.snapshot();
    const restore = KvStateMachine.beginRestore();
    restore.feed(bytes.subarray(0, 500), false);
    expect(restore.needsInput).toBe(true);
    expect(restore.step(10)).toBeUndefined();
    restore.feed(bytes.subarray(500), false);
    expect(restore.needsInput).toBe(false);
    expect(restore.step(10)).toBeUndefined();
    // Every key is in; the sessions wait for the end of the input.
    expect(restore.needsInput).toBe(true);
    restore.feed(new Uint8Array(0), true);
    expect(restore.step(10)?.digest()).toBe(source.digest());
  });

  it("a snapshot encoded in slices while later entries apply holds the state of the moment it began", () => {
    // Copy-on-write capture: overwrites, deletes, expiry and flush_all after the capture
    // must not show in it, and keys created after it must not appear.
    const scenario = commandSequence(80).chain((steps) =>
      fc.record({ steps: fc.constant(steps), cut: fc.nat({ max: steps.length }), slice: fc.integer({ min: 1, max: 4 }) }));
    fc.assert(
      fc.property(scenario, ({ steps, cut, slice }) => {
        const machine = new KvStateMachine();
        run(machine, steps.slice(0, cut), T0_MS);
        const expected = machine.snapshot();
        const encoder = machine.beginSnapshot();
        let stampMs = endMs(steps.slice(0, cut), T0_MS);
        for (const step of steps.slice(cut)) {
          encoder.encodeSome(slice);
          stampMs = Math.max(0, stampMs + step.stepMs);
          machine.apply(machine.appliedIndex + 1, encodeCommand({ stampMs, command: step.command }));
        }
        while (!encoder.encodeSome(slice));
        expect(encoder.finish()).toStrictEqual(expected);
      }),
      { numRuns: 300 },
    );
  });

  it("a flush_all, an overwrite and a delete during the encoding do not reach a snapshot begun before them", () => {
    const replica = new Replica();
    for (const key of ["a", "b", "c", "d"]) replica.put(key, `old-${key}`);
    const expected = replica.machine.snapshot();
    const encoder = replica.machine.beginSnapshot();
    expect(encoder.encodeSome(1)).toBe(false);
    replica.put("b", "new");
    replica.apply({ type: "delete", key: utf8("c") });
    expect(encoder.encodeSome(1)).toBe(false);
    replica.apply({ type: "flush-all" });
    replica.put("e", "created after");
    while (!encoder.encodeSome(1));
    expect(encoder.finish()).toStrictEqual(expected);
  });

  it("carries a pending delayed flush_all, which then happens at the same entry on the restored replica", () => {
    const replica = new Replica();
    replica.put("a", "1");
    replica.apply({ type: "flush-all", ttlMs: 1_000 });
    const restored = new Replica({}, KvStateMachine.restore(replica.machine.snapshot()));
    restored.stampMs = replica.stampMs;
    for (const r of [replica, restored]) {
      expect(r.machine.get(utf8("a"), r.stampMs + 999).ok).toBe(true);
      expect(r.machine.get(utf8("a"), r.stampMs + 1_000).ok).toBe(false);
      r.apply({ type: "tick" }, r.stampMs + 1_000);
      expect(r.machine.keyCount()).toBe(0);
    }
    expect(restored.machine.digest()).toBe(replica.machine.digest());
  });

  it("reads a version 1 snapshot (before pending flushes were carried)", () => {
    const replica = new Replica();
    replica.put("a", "1");
    const v2 = replica.machine.snapshot();
    // Version 2 added one byte after the header's stamp: "no pending flush".
    const header = new ByteWriter();
    for (const byte of [0x4b, 0x56, 0x53, 0x4d, 2]) header.u8(byte);
    header.varint(replica.machine.appliedIndex);
    header.varint(replica.machine.lastStampMs);
    const at = header.finish().length;
    expect(v2[at]).toBe(0);
    const v1 = new Uint8Array([...v2.subarray(0, 4), 1, ...v2.subarray(5, at), ...v2.subarray(at + 1)]);
    expect(KvStateMachine.restore(v1).digest()).toBe(replica.machine.digest());
  });

  it("carries keys, flags, versions, expiry, sessions with cached replies, the index and the stamp", () => {
    const replica = new Replica();
    const id = replica.registerSession();
    replica.put("k", "1", { flags: 9, ttlMs: 5_000, session: ref(id, 1) });
    replica.apply({ type: "incr", key: utf8("k"), delta: 1n, session: ref(id, 2) }, T0_MS + 10);
    const restored = new Replica({}, KvStateMachine.restore(replica.machine.snapshot()));
    expect(restored.machine.appliedIndex).toBe(3);
    expect(restored.machine.lastStampMs).toBe(T0_MS + 10);
    expect(restored.machine.get(utf8("k"), 0)).toStrictEqual(replica.machine.get(utf8("k"), 0));
    // The cached replies survive: a retry after restore is answered, not reapplied.
    expect(restored.put("k", "1", { flags: 9, ttlMs: 5_000, session: ref(id, 1) })).toStrictEqual({
      ok: true,
      kind: "stored",
      revision: 2,
      version: 2,
      createVersion: 2,
    });
    expect(restored.machine.get(utf8("k"), 0)).toMatchObject({ kv: { version: 3, value: utf8("2") } });
  });

  it("an empty state machine round-trips", () => {
    const empty = new KvStateMachine();
    expect(KvStateMachine.restore(empty.snapshot()).digest()).toBe(empty.digest());
  });

  it("throws only SnapshotDecodeError for damaged snapshots", () => {
    const replica = new Replica();
    const id = replica.registerSession();
    replica.put("k", "v", { flags: 9, ttlMs: 5_000, session: ref(id, 1) });
    replica.put("j", "w", { session: ref(id, 2) });
    const bytes = replica.machine.snapshot();
    const damage = fc.record({ position: fc.nat({ max: bytes.length - 1 }), byte: fc.nat({ max: 255 }), cut: fc.boolean() });
    fc.assert(
      fc.property(damage, ({ position, byte, cut }) => {
        const input = cut ? bytes.subarray(0, position) : bytes.slice();
        if (!cut) input[position] = byte;
        try {
          KvStateMachine.restore(input);
        } catch (error) {
          expect(error).toBeInstanceOf(SnapshotDecodeError);
        }
      }),
      { numRuns: 3_000 },
    );
  });

  /** A snapshot header followed by the given keys (no sessions). */
  function handMade(appliedIndex: number, lastStampMs: number, records: [string, number, number, number?][]): Uint8Array {
    const writer = new ByteWriter();
    for (const byte of utf8("KVSM")) writer.u8(byte);
    writer.u8(1);
    writer.varint(appliedIndex);
    writer.varint(lastStampMs);
    writer.varint(records.length);
    for (const [key, version, createVersion, expiresAtMs] of records) {
      writer.bytes(utf8(key));
      writer.bytes(utf8("v"));
      writer.u32(0);
      writer.varint(version);
      writer.varint(createVersion);
      writer.u8(expiresAtMs === undefined ? 0 : 1);
      if (expiresAtMs !== undefined) writer.varint(expiresAtMs);
    }
    writer.varint(0);
    return writer.finish();
  }

  it.each([
    { name: "a bad magic", bytes: utf8("KVSX\u0001"), reason: /bad magic/ },
    { name: "an unknown version", bytes: Uint8Array.of(...utf8("KVSM"), 9), reason: /format version 9/ },
    { name: "keys out of order", bytes: handMade(5, 0, [["b", 1, 1], ["a", 2, 2]]), reason: /strictly increasing/ },
    { name: "a duplicate key", bytes: handMade(5, 0, [["a", 1, 1], ["a", 2, 2]]), reason: /strictly increasing/ },
    { name: "a version after the applied index", bytes: handMade(5, 0, [["a", 6, 1]]), reason: /version 6 <= appliedIndex 5/ },
    { name: "createVersion after version", bytes: handMade(5, 0, [["a", 2, 3]]), reason: /createVersion 3 <= version 2/ },
    { name: "a key that should have expired", bytes: handMade(5, 100, [["a", 2, 2, 100]]), reason: /expired at 100/ },
  ])("rejects $name, at once or a key at a time", ({ bytes, reason }) => {
    expect(() => KvStateMachine.restore(bytes)).toThrow(SnapshotDecodeError);
    expect(() => KvStateMachine.restore(bytes)).toThrow(reason);
    expect(() => {
      const restore = KvStateMachine.beginRestore();
      restore.feed(bytes, true);
      while (restore.step(1) === undefined);
    }).toThrow(reason);
    // In pieces, a fault is found at the same offset of the snapshot as in one piece.
    const offsetOf = (restore: () => unknown): number | undefined => {
      try {
        restore();
      } catch (error) {
        return error instanceof SnapshotDecodeError ? error.offset : undefined;
      }
      return undefined;
    };
    const whole = offsetOf(() => KvStateMachine.restore(bytes));
    expect(whole).toBeDefined();
    for (const pieceBytes of [1, 2, 3, 7]) expect(offsetOf(() => restoreInPieces(bytes, [pieceBytes], 1))).toBe(whole);
  });

  it("accepts a well-formed hand-made snapshot (the negative cases above differ from it in one point)", () => {
    const restored = KvStateMachine.restore(handMade(5, 100, [["a", 1, 1], ["b", 5, 2, 101]]));
    expect(restored.keyCount()).toBe(2);
  });
});

describe("digest", () => {
  /** FNV-1a 64 with BigInt arithmetic: slow and obviously right. */
  function referenceFnv1a64(bytes: Uint8Array): string {
    let hash = 0xcbf29ce484222325n;
    for (const byte of bytes) hash = ((hash ^ BigInt(byte)) * 0x100000001b3n) & 0xffffffffffffffffn;
    return hash.toString(16).padStart(16, "0");
  }

  it.each([
    { input: "", expected: "cbf29ce484222325" },
    { input: "a", expected: "af63dc4c8601ec8c" },
    { input: "foobar", expected: "85944171f73967e8" },
  ])("fnv1a64($input) is the published value $expected", ({ input, expected }) => {
    expect(fnv1a64(utf8(input))).toBe(expected);
  });

  it("fnv1a64 matches a BigInt reference on random bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        expect(fnv1a64(bytes)).toBe(referenceFnv1a64(bytes));
      }),
    );
  });

  it("differs when any part of the state differs", () => {
    const base = () => {
      const replica = new Replica();
      replica.put("k", "v");
      return replica;
    };
    const digests = new Set<string>([base().machine.digest()]);
    const variants: ((replica: Replica) => void)[] = [
      (r) => r.put("k", "w"),
      (r) => r.put("k", "v", { flags: 1 }),
      (r) => r.put("k", "v", { ttlMs: 1 }),
      (r) => r.noop(),
      (r) => r.apply({ type: "tick" }, T0_MS + 1),
      (r) => r.registerSession(),
    ];
    for (const change of variants) {
      const replica = base();
      change(replica);
      digests.add(replica.machine.digest());
    }
    expect(digests.size).toBe(variants.length + 1);
  });
});
