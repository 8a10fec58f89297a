import type { KeyValue, KvEvent } from "../kv/index.js";

/** Keys and values: strings are sent as UTF-8. */
export type BytesInput = string | Uint8Array;

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder();

export function toBytes(input: BytesInput): Uint8Array {
  return typeof input === "string" ? utf8Encoder.encode(input) : input;
}

export function toText(bytes: Uint8Array): string {
  return utf8Decoder.decode(bytes);
}

/** A key as read: bytes, with text helpers for the common case of UTF-8 data. */
export interface KvEntry {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
  /** The revision of the write that produced this value (etcd's mod_revision). */
  readonly version: number;
  /** The revision that created the key (since its last deletion). */
  readonly createVersion: number;
  readonly flags: number;
  readonly expiresAtMs?: number;
  /** The revision (applied index) the read reflects. */
  readonly revision: number;
  /** The value decoded as UTF-8. */
  text(): string;
  /** The key decoded as UTF-8. */
  keyText(): string;
}

export interface PutResult {
  readonly revision: number;
  /** The key's version now: pass it as expectVersion to compare-and-swap on it. */
  readonly version: number;
  readonly createVersion: number;
}

export interface DeleteResult {
  readonly revision: number;
  /** The version the key had when it was deleted. */
  readonly previousVersion: number;
}

export interface ListPage {
  readonly revision: number;
  readonly entries: readonly KvEntry[];
  /** Present when more keys may follow: pass it as `after` for the next page. */
  readonly nextAfter?: Uint8Array;
}

export type WatchEvent =
  | {
      readonly type: "put";
      readonly revision: number;
      readonly key: Uint8Array;
      readonly value: Uint8Array;
      readonly version: number;
      readonly createVersion: number;
      readonly flags: number;
      text(): string;
      keyText(): string;
    }
  | {
      readonly type: "delete";
      readonly revision: number;
      readonly key: Uint8Array;
      readonly previousVersion: number;
      /** The key's expiry passed (rather than a delete). */
      readonly expired: boolean;
      keyText(): string;
    }
  /** Every key was removed (memcached flush_all). */
  | { readonly type: "flush"; readonly revision: number };

export function entryOf(kv: KeyValue, revision: number): KvEntry {
  const base = {
    key: kv.key, value: kv.value, version: kv.version, createVersion: kv.createVersion, flags: kv.flags, revision,
    text: () => toText(kv.value),
    keyText: () => toText(kv.key),
  };
  return kv.expiresAtMs === undefined ? base : { ...base, expiresAtMs: kv.expiresAtMs };
}

export function watchEventOf(event: KvEvent): WatchEvent {
  switch (event.type) {
    case "put":
      return {
        type: "put", revision: event.revision, key: event.key, value: event.value, version: event.version,
        createVersion: event.createVersion, flags: event.flags, text: () => toText(event.value), keyText: () => toText(event.key),
      };
    case "delete":
      return {
        type: "delete", revision: event.revision, key: event.key, previousVersion: event.previousVersion, expired: event.expired,
        keyText: () => toText(event.key),
      };
    case "flush":
      return { type: "flush", revision: event.revision };
  }
}
