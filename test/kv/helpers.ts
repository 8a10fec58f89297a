import fc from "fast-check";
import {
  KvStateMachine,
  encodeCommand,
  type KvCommand,
  type KvConfig,
  type KvResult,
  type SessionRef,
} from "../../src/kv/index.js";

export const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
export const fromUtf8 = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

/** A stamp far from 0, so that clamping and expiry arithmetic use realistic numbers. */
export const T0_MS = 1_700_000_000_000;

/**
 * One replica driven like the server would: each command is encoded, given the next
 * index and applied. `stampMs` defaults to the previous one.
 */
export class Replica {
  readonly machine: KvStateMachine;
  stampMs = T0_MS;

  constructor(config: Partial<KvConfig> = {}, machine?: KvStateMachine) {
    this.machine = machine ?? new KvStateMachine(config);
  }

  apply(command: KvCommand, stampMs = this.stampMs): KvResult {
    this.stampMs = stampMs;
    return this.machine.apply(this.machine.appliedIndex + 1, encodeCommand({ stampMs, command }));
  }

  noop(): void {
    this.machine.applyNoop(this.machine.appliedIndex + 1);
  }

  put(key: string, value: string, extra: Partial<Omit<Extract<KvCommand, { type: "put" }>, "type">> = {}): KvResult {
    return this.apply({ type: "put", key: utf8(key), value: utf8(value), ...extra });
  }

  value(key: string, readStampMs = this.stampMs): string | undefined {
    const got = this.machine.get(utf8(key), readStampMs);
    return got.ok ? fromUtf8(got.kv.value) : undefined;
  }

  registerSession(): number {
    const result = this.apply({ type: "register-session" });
    if (!result.ok || result.kind !== "session-registered") throw new Error("register-session failed");
    return result.sessionId;
  }
}

export function ref(sessionId: number, seq: number, lowestUnackedSeq = 1): SessionRef {
  return { sessionId, seq, lowestUnackedSeq };
}

/** Envelopes over the format's full ranges, for codec round trips. */
export function anyEnvelope(): fc.Arbitrary<{ stampMs: number; command: KvCommand }> {
  const uint = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
  const bytes = fc.uint8Array({ maxLength: 40 });
  const session = sessionArbitrary(uint, uint, uint);
  return commandArbitrary({ key: bytes, value: bytes, uint, smallUint: uint, session }).chain((command) =>
    fc.record({ stampMs: fc.integer({ min: 0, max: 2 ** 52 }), command: fc.constant(command) }, { noNullPrototype: true }),
  );
}

/** Sessions registered at the start of every `commandSequence`: ids 1 to 3. */
const SEQUENCE_SESSIONS = 3;

/**
 * Command sequences over a few keys and sessions, so that random runs collide on keys,
 * hit version checks, retry session writes and fill session limits. Each starts by
 * registering sessions 1..3 (id 4 may or may not exist). Stamps mostly advance,
 * sometimes go back.
 */
export function commandSequence(maxLength: number): fc.Arbitrary<{ stepMs: number; command: KvCommand }[]> {
  const key = fc.constantFrom("a", "b", "c", "ab", "n", "x/1", "x/2", "long").map(utf8);
  const value = fc.oneof(fc.constantFrom("", "7", "18446744073709551615", "v").map(utf8), fc.uint8Array({ maxLength: 10 }));
  const smallUint = fc.integer({ min: 0, max: 12 });
  // Clients acknowledge slowly, so that retries often find their cached reply.
  const session = sessionArbitrary(
    fc.oneof({ arbitrary: fc.integer({ min: 1, max: SEQUENCE_SESSIONS }), weight: 6 }, fc.constant(SEQUENCE_SESSIONS + 1)),
    fc.integer({ min: 1, max: 12 }),
    fc.oneof({ arbitrary: fc.integer({ min: 0, max: 3 }), weight: 4 }, fc.integer({ min: 0, max: 12 })),
  );
  const command = commandArbitrary({ key, value, uint: fc.integer({ min: 1, max: 5_000 }), smallUint, session });
  const stepMs = fc.oneof(fc.integer({ min: 0, max: 3_000 }), fc.integer({ min: -2_000, max: 0 }));
  const register = { stepMs: 0, command: { type: "register-session" } as const };
  return fc
    .array(fc.record({ stepMs, command }, { noNullPrototype: true }), { maxLength, size: "max" })
    .map((steps) => [...new Array<typeof register>(SEQUENCE_SESSIONS).fill(register), ...steps]);
}

function sessionArbitrary(
  sessionId: fc.Arbitrary<number>,
  seq: fc.Arbitrary<number>,
  lowestUnackedSeq: fc.Arbitrary<number>,
): fc.Arbitrary<SessionRef> {
  return fc
    .record({ sessionId, seq, lowestUnackedSeq }, { noNullPrototype: true })
    .map((s) => ({ ...s, lowestUnackedSeq: Math.min(s.seq, s.lowestUnackedSeq) }));
}

interface Parts {
  readonly key: fc.Arbitrary<Uint8Array>;
  readonly value: fc.Arbitrary<Uint8Array>;
  /** ttls, session ids to close. */
  readonly uint: fc.Arbitrary<number>;
  /** expected versions. */
  readonly smallUint: fc.Arbitrary<number>;
  readonly session: fc.Arbitrary<SessionRef>;
}

function commandArbitrary(parts: Parts): fc.Arbitrary<KvCommand> {
  const { key, value, uint, smallUint, session } = parts;
  const flags = fc.integer({ min: 0, max: 0xffff_ffff });
  const delta = fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.bigInt({ min: 0n, max: 10n }));
  // Optional fields are left out (not set to undefined) in about half the commands.
  const optional = ["session", "flags", "expectVersion", "ttlMs"];
  const write = <T extends Record<string, fc.Arbitrary<unknown>>>(fields: T) =>
    fc.record(fields, { noNullPrototype: true, requiredKeys: Object.keys(fields).filter((k) => !optional.includes(k)) as (keyof T & string)[] });
  return fc.oneof(
    fc.constant({ type: "register-session" as const }),
    // Closing mostly misses, so that the sessions of a sequence stay in use.
    fc.record({ type: fc.constant("close-session" as const), sessionId: fc.oneof(uint, uint, uint, smallUint) }, { noNullPrototype: true }),
    fc.constant({ type: "tick" as const }),
    { arbitrary: write({ type: fc.constant("put" as const), key, value, session, flags, expectVersion: smallUint, ttlMs: uint }), weight: 4 },
    { arbitrary: write({ type: fc.constant("delete" as const), key, session, expectVersion: smallUint }), weight: 2 },
    write({ type: fc.constantFrom("add" as const, "replace" as const), key, value, session, flags, ttlMs: uint }),
    write({ type: fc.constantFrom("append" as const, "prepend" as const), key, value, session }),
    { arbitrary: write({ type: fc.constantFrom("incr" as const, "decr" as const), key, delta, session }), weight: 2 },
    write({ type: fc.constant("touch" as const), key, session, ttlMs: uint }),
    write({ type: fc.constant("flush-all" as const), session }),
  ) as fc.Arbitrary<KvCommand>;
}
