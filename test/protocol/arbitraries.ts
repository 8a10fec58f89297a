import fc from "fast-check";
import type { KeyValue, KvEvent, KvResult, SessionRef, WriteCommand } from "../../src/kv/index.js";
import { KV_ERROR_CODES } from "../../src/kv/index.js";
import type { Consistency, LeaderRef, Request, Response } from "../../src/protocol/index.js";

/** Arbitraries for every protocol message, with optional fields absent (not undefined), as decoders produce them. */

const uint = fc.nat({ max: Number.MAX_SAFE_INTEGER });
const small = fc.nat({ max: 1_000_000 });
const requestId = fc.integer({ min: 1, max: 0xffff_ffff });
const anyRequestId = fc.integer({ min: 0, max: 0xffff_ffff });
const bytes = fc.uint8Array({ maxLength: 24 });
const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
const consistency: fc.Arbitrary<Consistency> = fc.constantFrom("linearizable", "follower", "serializable");

/** An object from required fields plus optional ones, leaving out the absent. */
function withOptional<T extends object>(base: fc.Arbitrary<T>, optional: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<T> {
  return fc.tuple(base, fc.record(optional, { requiredKeys: [] })).map(([b, o]) => ({ ...b, ...o }) as T);
}

const session: fc.Arbitrary<SessionRef> = fc.record({ sessionId: uint, seq: uint, lowestUnackedSeq: uint });

export const writeCommand: fc.Arbitrary<WriteCommand> = fc.oneof(
  withOptional(fc.record({ type: fc.constant("put" as const), key: bytes, value: bytes }), { flags: u32, expectVersion: uint, ttlMs: uint, session }),
  withOptional(fc.record({ type: fc.constant("delete" as const), key: bytes }), { expectVersion: uint, session }),
  withOptional(fc.record({ type: fc.constant("incr" as const), key: bytes, delta: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }) }), { session }),
  withOptional(fc.record({ type: fc.constant("touch" as const), key: bytes }), { ttlMs: uint, session }),
  withOptional(fc.record({ type: fc.constant("flush-all" as const) }), { ttlMs: uint, session }),
) as fc.Arbitrary<WriteCommand>;

export const keyValue: fc.Arbitrary<KeyValue> = withOptional(
  fc.record({ key: bytes, value: bytes, flags: u32, version: uint, createVersion: uint }),
  { expiresAtMs: uint },
);

export const kvEvent: fc.Arbitrary<KvEvent> = fc.oneof(
  fc.record({ type: fc.constant("put" as const), revision: uint, key: bytes, value: bytes, flags: u32, version: uint, createVersion: uint }),
  fc.record({ type: fc.constant("delete" as const), revision: uint, key: bytes, previousVersion: uint, expired: fc.boolean() }),
  fc.record({ type: fc.constant("flush" as const), revision: uint }),
);

export const kvResult: fc.Arbitrary<KvResult> = fc.oneof(
  fc.record({ ok: fc.constant(true as const), kind: fc.constant("stored" as const), revision: uint, version: uint, createVersion: uint }),
  fc.record({ ok: fc.constant(true as const), kind: fc.constant("deleted" as const), revision: uint, previousVersion: uint }),
  fc.record({ ok: fc.constant(true as const), kind: fc.constant("counter" as const), revision: uint, version: uint, value: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }) }),
  withOptional(fc.record({ ok: fc.constant(true as const), kind: fc.constant("touched" as const), revision: uint, version: uint }), { expiresAtMs: uint }),
  withOptional(fc.record({ ok: fc.constant(false as const), revision: uint, error: fc.constantFrom(...KV_ERROR_CODES), message: fc.string() }), { currentVersion: uint }),
) as fc.Arbitrary<KvResult>;

const leader: fc.Arbitrary<LeaderRef> = withOptional(fc.record({ leaderId: small }), { clientAddress: fc.string({ maxLength: 40 }) });

/** Trace stamps as a tracer makes them: HOST#n and a clock naming that host. */
const host = fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/);
const stamp = fc.tuple(host, fc.integer({ min: 1, max: 1_000_000 }), fc.dictionary(host, small, { maxKeys: 4 }))
  .map(([name, count, others]) => ({ messageId: `${name}#${count}`, clock: { ...others, [name]: count } }));
/** A caller's trace context as the codec carries it (any bounded text: the receiver validates it): a tracestate only with a traceparent. */
const traceContext = fc.oneof(
  fc.constant({}),
  withOptional(fc.record({ traceparent: fc.string({ minLength: 1, maxLength: 80 }) }), { tracestate: fc.string({ minLength: 1, maxLength: 80 }) }),
);
/** The optional request context (context-codec.ts): an id of printable ASCII without spaces, maybe a stamp, maybe the caller a member forwards for, maybe a trace context. */
const requestContext = fc.tuple(
  withOptional(fc.record({ requestId: fc.stringMatching(/^[\x21-\x7e]{1,64}$/) }), { stamp, onBehalfOf: fc.string({ minLength: 1, maxLength: 80 }) }),
  traceContext,
).map(([context, trace]) => ({ ...context, ...trace }));

const requestMessage = fc.oneof(
  fc.record({ kind: fc.constant("hello" as const), requestId, clientName: fc.string({ maxLength: 60 }), forward: fc.boolean(), token: fc.string({ minLength: 1, maxLength: 80 }) }, { requiredKeys: ["kind", "requestId", "clientName", "forward"] }),
  fc.record({ kind: fc.constant("register-session" as const), requestId }),
  fc.record({ kind: fc.constant("status" as const), requestId }),
  fc.record({ kind: fc.constant("get" as const), requestId, key: bytes, consistency }),
  fc.record({ kind: fc.constant("get-many" as const), requestId, keys: fc.array(bytes, { maxLength: 8 }), consistency }),
  withOptional(fc.record({ kind: fc.constant("list" as const), requestId, prefix: bytes, limit: uint, consistency }), { after: bytes, revision: uint }),
  fc.record({ kind: fc.constant("write" as const), requestId, command: writeCommand }),
  fc.record({ kind: fc.constant("watch" as const), requestId, prefix: bytes, fromRevision: uint }),
  fc.record({ kind: fc.constant("cancel" as const), requestId, targetRequestId: u32 }),
) as fc.Arbitrary<Request>;

export const request: fc.Arbitrary<Request> = withOptional(requestMessage, { context: requestContext });

const responseMessage = fc.oneof(
  fc.record({ kind: fc.constant("hello-ok" as const), requestId: anyRequestId, serverVersion: fc.string(), memberId: small, leader, frameBytesMax: uint, inFlightMax: uint }),
  fc.record({ kind: fc.constant("session-ok" as const), requestId: anyRequestId, sessionId: uint }),
  withOptional(fc.record({ kind: fc.constant("get-ok" as const), requestId: anyRequestId, revision: uint }), { kv: keyValue }),
  fc.record({ kind: fc.constant("get-many-ok" as const), requestId: anyRequestId, revision: uint, kvs: fc.array(fc.option(keyValue, { nil: undefined }), { maxLength: 5 }) }),
  withOptional(fc.record({ kind: fc.constant("list-ok" as const), requestId: anyRequestId, revision: uint, entries: fc.array(keyValue, { maxLength: 5 }) }), { nextAfter: bytes }),
  fc.record({ kind: fc.constant("write-ok" as const), requestId: anyRequestId, result: kvResult }),
  fc.record({ kind: fc.constant("watch-events" as const), requestId: anyRequestId, events: fc.array(kvEvent, { maxLength: 5 }), nextRevision: uint }),
  fc.record({ kind: fc.constantFrom("watch-end" as const, "cancel-ok" as const), requestId: anyRequestId }),
  fc.record({ kind: fc.constant("status-ok" as const), requestId: anyRequestId, json: fc.json() }),
  withOptional(fc.record({ kind: fc.constant("error" as const), requestId: anyRequestId, code: fc.string({ maxLength: 20 }), message: fc.string(), retryable: fc.boolean() }), { leader, compactRevision: uint }),
  fc.record({ kind: fc.constant("redirect" as const), requestId: anyRequestId, leader }),
  fc.record({ kind: fc.constant("busy" as const), requestId: anyRequestId, message: fc.string() }),
) as fc.Arbitrary<Response>;

export const response: fc.Arbitrary<Response> = withOptional(responseMessage, { stamp });
