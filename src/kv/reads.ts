import { compareBytes } from "./bytes.js";
import { KvArgumentError } from "./errors.js";
import type { KeyRecord, KeyStore, ScanSource } from "./key-store.js";

/** A key as reads return it: copies, so callers cannot change the replicated state. */
export interface KeyValue {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
  readonly flags: number;
  readonly version: number;
  readonly createVersion: number;
  readonly expiresAtMs?: number;
}

export type GetResult =
  | { readonly ok: true; readonly revision: number; readonly kv: KeyValue }
  | { readonly ok: false; readonly revision: number; readonly error: "not-found"; readonly message: string };

export interface ListOptions {
  /** Most keys to return, 1..listLimitMax. */
  readonly limit: number;
  /** Continue after this key (exclusive): the previous page's `nextAfter`. */
  readonly after?: Uint8Array;
  /** Hide keys expiring at or before this time; defaults to the last applied stamp. */
  readonly readStampMs?: number;
  /**
   * The revision of the listing's first page: later pages are read as of it, so that
   * all pages of one listing show one state. Absent for a first page.
   */
  readonly revision?: number;
}

export interface ListResult {
  readonly revision: number;
  readonly entries: KeyValue[];
  /** Present when more keys may follow: pass it as `after` for the next page. */
  readonly nextAfter?: Uint8Array;
}

/** True when a record expiring at `expiresAtMs` no longer exists at `nowMs`. */
export function isExpired(expiresAtMs: number | undefined, nowMs: number): boolean {
  return expiresAtMs !== undefined && expiresAtMs <= nowMs;
}

/** Copies of `key` and of the record (whose value may be a view of the store's bytes). */
export function toKeyValue(key: Uint8Array, record: KeyRecord): KeyValue {
  const base = {
    key: key.slice(),
    value: record.value.slice(),
    flags: record.flags,
    version: record.version,
    createVersion: record.createVersion,
  };
  return record.expiresAtMs === undefined ? base : { ...base, expiresAtMs: record.expiresAtMs };
}

export function getKey(store: KeyStore, key: Uint8Array, nowMs: number, revision: number): GetResult {
  const record = store.get(key);
  if (record === undefined || isExpired(record.expiresAtMs, nowMs)) {
    return { ok: false, revision, error: "not-found", message: "the key does not exist" };
  }
  return { ok: true, revision, kv: toKeyValue(key, record) };
}

/**
 * One page of keys starting with `prefix`, in byte order. Expired keys not yet removed
 * are skipped. When the page is full and another key with the prefix exists, the page
 * carries `nextAfter`; that next key may turn out to be expired, so a last page can be
 * empty.
 */
export function listKeys(
  store: ScanSource,
  prefix: Uint8Array,
  options: ListOptions,
  nowMs: number,
  revision: number,
  listLimitMax: number,
): ListResult {
  const { limit, after } = options;
  if (!Number.isInteger(limit) || limit < 1 || limit > listLimitMax) {
    throw new KvArgumentError("limit", `must be an integer in [1, ${listLimitMax}] (listLimitMax), got ${limit}`);
  }
  // Start at whichever is later: the prefix itself, or just after the continuation key.
  const fromAfter = after !== undefined && compareBytes(after, prefix) >= 0;
  const cursor = store.scan(fromAfter ? after : prefix, fromAfter);
  const entries: KeyValue[] = [];
  while (cursor.next()) {
    if (!cursor.keyStartsWith(prefix)) break;
    if (entries.length === limit) {
      return { revision, entries, nextAfter: (entries[entries.length - 1] as KeyValue).key.slice() };
    }
    if (!isExpired(cursor.expiresAtMs, nowMs)) entries.push(toKeyValue(cursor.key(), cursor.record()));
  }
  return { revision, entries };
}
