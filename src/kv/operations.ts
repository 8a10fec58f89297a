import { joinBytes } from "../codec/bytes.js";
import { UINT64_MAX, type WriteCommand } from "./commands.js";
import type { KvConfig } from "./config.js";
import type { EventHistory } from "./events.js";
import type { KeyRecord, KeyStore } from "./key-store.js";
import { failure, type KvResult } from "./results.js";
import { checkCommand, tooLarge } from "./validate.js";

/** What a write sees of the state machine while one entry is applied. */
export interface WriteContext {
  readonly store: KeyStore;
  readonly history: EventHistory;
  readonly config: KvConfig;
  /** The entry's index: the version of every key it writes. */
  readonly revision: number;
  /** The entry's stamp, already clamped to never go backwards. */
  readonly stampMs: number;
  /** Sets (or with undefined, cancels) the one pending delayed flush-all. */
  readonly setPendingFlush: (atMs: number | undefined) => void;
}

/** Removes every key, as one `flush` event at `revision`; returns how many there were. */
export function flushNow(store: KeyStore, history: EventHistory, revision: number): number {
  const deletedCount = store.clear();
  history.append({ type: "flush", revision });
  return deletedCount;
}

/** Applies one write command. Deterministic: depends only on the context and command. */
export function applyWrite(context: WriteContext, command: WriteCommand): KvResult {
  const { revision } = context;
  const invalid = checkCommand(command, context.config, revision);
  if (invalid !== undefined) return invalid;
  if (command.type === "flush-all") {
    // As in memcached, the latest flush_all decides: a delayed one replaces a pending
    // one, and an immediate one cancels it.
    if (command.ttlMs !== undefined) {
      context.setPendingFlush(context.stampMs + command.ttlMs);
      return { ok: true, kind: "flushed", revision, deletedCount: 0 };
    }
    context.setPendingFlush(undefined);
    return { ok: true, kind: "flushed", revision, deletedCount: flushNow(context.store, context.history, revision) };
  }
  const { key } = command;
  const existing = context.store.get(key);
  const currentVersion = existing?.version ?? 0;
  switch (command.type) {
    case "put":
      if (mismatched(command.expectVersion, currentVersion)) return versionMismatch(revision, command.expectVersion, currentVersion);
      return store(context, key, existing, command.value, command.flags ?? 0, expiry(context, command.ttlMs));
    case "add":
      if (existing !== undefined) return failure(revision, "exists", "add refused: the key exists", currentVersion);
      return store(context, key, existing, command.value, command.flags ?? 0, expiry(context, command.ttlMs));
    case "replace":
      if (existing === undefined) return notFound(revision, "replace");
      return store(context, key, existing, command.value, command.flags ?? 0, expiry(context, command.ttlMs));
    case "append":
    case "prepend":
      if (existing === undefined) return notFound(revision, command.type);
      return appendOrPrepend(context, key, existing, command.type, command.value);
    case "incr":
    case "decr":
      if (existing === undefined) return notFound(revision, command.type);
      return count(context, key, existing, command.type, command.delta);
    case "touch": {
      if (existing === undefined) return notFound(revision, "touch");
      const expiresAtMs = expiry(context, command.ttlMs);
      context.store.set(key, { ...existing, expiresAtMs });
      const touched = { ok: true, kind: "touched", revision, version: existing.version } as const;
      return expiresAtMs === undefined ? touched : { ...touched, expiresAtMs };
    }
    case "delete": {
      if (mismatched(command.expectVersion, currentVersion)) return versionMismatch(revision, command.expectVersion, currentVersion);
      if (existing === undefined) return notFound(revision, "delete");
      context.store.delete(key);
      context.history.append({ type: "delete", revision, key, previousVersion: existing.version, expired: false });
      return { ok: true, kind: "deleted", revision, previousVersion: existing.version };
    }
  }
}

function mismatched(expectVersion: number | undefined, currentVersion: number): expectVersion is number {
  return expectVersion !== undefined && expectVersion !== currentVersion;
}

function versionMismatch(revision: number, expectVersion: number, currentVersion: number): KvResult {
  const message = `expected version ${expectVersion} but the key is at ${currentVersion} (0: absent); re-read and retry`;
  return failure(revision, "version-mismatch", message, currentVersion);
}

function expiry(context: WriteContext, ttlMs: number | undefined): number | undefined {
  return ttlMs === undefined ? undefined : context.stampMs + ttlMs;
}

function notFound(revision: number, operation: string): KvResult {
  return failure(revision, "not-found", `${operation} refused: the key does not exist`);
}

/**
 * Writes a new value under `key`; the version becomes this revision, createVersion is
 * kept. `key` is the command's own array: the put event keeps it (the store copies it).
 */
function store(
  context: WriteContext,
  key: Uint8Array,
  existing: KeyRecord | undefined,
  value: Uint8Array,
  flags: number,
  expiresAtMs: number | undefined,
): KvResult {
  const { revision } = context;
  const createVersion = existing?.createVersion ?? revision;
  context.store.set(key, { value, flags, version: revision, createVersion, expiresAtMs });
  context.history.append({ type: "put", revision, key, value, flags, version: revision, createVersion });
  return { ok: true, kind: "stored", revision, version: revision, createVersion };
}

/** memcached append/prepend: the key must exist; its flags and expiry are kept. */
function appendOrPrepend(
  context: WriteContext,
  key: Uint8Array,
  existing: KeyRecord,
  type: "append" | "prepend",
  data: Uint8Array,
): KvResult {
  const joinedBytes = existing.value.length + data.length;
  if (joinedBytes > context.config.valueBytesMax) {
    return tooLarge(context.revision, `value after ${type}`, joinedBytes, context.config.valueBytesMax);
  }
  const value = joinBytes(type === "append" ? [existing.value, data] : [data, existing.value]);
  return store(context, key, existing, value, existing.flags, existing.expiresAtMs);
}

/** memcached incr/decr: incr wraps at 2^64, decr stops at 0; flags and expiry are kept. */
function count(
  context: WriteContext,
  key: Uint8Array,
  existing: KeyRecord,
  type: "incr" | "decr",
  delta: bigint,
): KvResult {
  const { revision } = context;
  const current = parseUint64(existing.value);
  if (current === undefined) {
    return failure(revision, "not-a-number", `${type} refused: the value is not a decimal number below 2^64`);
  }
  const next = type === "incr" ? (current + delta) & UINT64_MAX : current > delta ? current - delta : 0n;
  const value = asciiBytes(next.toString());
  // Only reachable with a valueBytesMax below 20, but a limit is a limit.
  if (value.length > context.config.valueBytesMax) {
    return tooLarge(revision, `value after ${type}`, value.length, context.config.valueBytesMax);
  }
  store(context, key, existing, value, existing.flags, existing.expiresAtMs);
  return { ok: true, kind: "counter", revision, version: revision, value: next };
}

/** Digits of a uint64: at most 20 (2^64 - 1 has 20). */
const UINT64_DIGITS_MAX = 20;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;

/** The value as a decimal uint64, or undefined when it is anything else. */
export function parseUint64(value: Uint8Array): bigint | undefined {
  if (value.length === 0 || value.length > UINT64_DIGITS_MAX) return undefined;
  let parsed = 0n;
  for (const byte of value) {
    if (byte < DIGIT_0 || byte > DIGIT_9) return undefined;
    parsed = parsed * 10n + BigInt(byte - DIGIT_0);
  }
  return parsed <= UINT64_MAX ? parsed : undefined;
}

function asciiBytes(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}
