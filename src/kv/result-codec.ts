import { ByteReader, ByteWriter } from "./bytes.js";
import { KvDecodeError } from "./errors.js";
import { KV_ERROR_CODES, failure, type KvOkKind, type KvResult } from "./results.js";

/**
 * Results inside snapshots (the replies cached by sessions). The first byte is the
 * result's tag: an ok kind's position in OK_KINDS, or FAILURE_TAG. Tags are persisted:
 * never renumber, only append.
 */
const OK_KINDS: readonly KvOkKind[] = [
  "session-registered",
  "session-closed",
  "ticked",
  "stored",
  "touched",
  "deleted",
  "counter",
  "flushed",
];
const OK_TAG_BY_KIND = new Map(OK_KINDS.map((kind, tag) => [kind, tag]));
const FAILURE_TAG = 0xff;

export function writeResult(writer: ByteWriter, result: KvResult): void {
  if (!result.ok) {
    writer.u8(FAILURE_TAG);
    writer.varint(result.revision);
    writer.u8(KV_ERROR_CODES.indexOf(result.error));
    writer.string(result.message);
    writer.u8(result.currentVersion === undefined ? 0 : 1);
    if (result.currentVersion !== undefined) writer.varint(result.currentVersion);
    return;
  }
  writer.u8(OK_TAG_BY_KIND.get(result.kind) as number);
  writer.varint(result.revision);
  switch (result.kind) {
    case "session-registered":
      writer.varint(result.sessionId);
      return;
    case "session-closed":
    case "ticked":
      return;
    case "stored":
      writer.varint(result.version);
      writer.varint(result.createVersion);
      return;
    case "touched":
      writer.varint(result.version);
      writer.u8(result.expiresAtMs === undefined ? 0 : 1);
      if (result.expiresAtMs !== undefined) writer.varint(result.expiresAtMs);
      return;
    case "deleted":
      writer.varint(result.previousVersion);
      return;
    case "counter":
      writer.varint(result.version);
      writer.u64(result.value);
      return;
    case "flushed":
      writer.varint(result.deletedCount);
      return;
  }
}

export function readResult(reader: ByteReader): KvResult {
  const tagOffset = reader.position;
  const tag = reader.u8();
  const revision = reader.varint();
  if (tag === FAILURE_TAG) {
    const codeOffset = reader.position;
    const error = KV_ERROR_CODES[reader.u8()];
    if (error === undefined) throw reader.invalid(codeOffset, "unknown error code");
    const message = reader.string();
    const currentVersion = reader.flag() ? reader.varint() : undefined;
    return failure(revision, error, message, currentVersion);
  }
  const kind = OK_KINDS[tag];
  switch (kind) {
    case undefined:
      throw reader.invalid(tagOffset, `unknown result tag ${tag}`);
    case "session-registered":
      return { ok: true, kind, revision, sessionId: reader.varint() };
    case "session-closed":
    case "ticked":
      return { ok: true, kind, revision };
    case "stored":
      return { ok: true, kind, revision, version: reader.varint(), createVersion: reader.varint() };
    case "touched": {
      const version = reader.varint();
      return reader.flag()
        ? { ok: true, kind, revision, version, expiresAtMs: reader.varint() }
        : { ok: true, kind, revision, version };
    }
    case "deleted":
      return { ok: true, kind, revision, previousVersion: reader.varint() };
    case "counter":
      return { ok: true, kind, revision, version: reader.varint(), value: reader.u64() };
    case "flushed":
      return { ok: true, kind, revision, deletedCount: reader.varint() };
  }
}

/** A result on its own, for layers that send results to clients. */
export function encodeResult(result: KvResult): Uint8Array {
  const writer = new ByteWriter(64);
  writeResult(writer, result);
  return writer.finish();
}

/** Decodes `encodeResult` bytes; throws `KvDecodeError` (only) when they are malformed. */
export function decodeResult(bytes: Uint8Array): KvResult {
  const reader = new ByteReader(bytes, (offset, reason) => new KvDecodeError("result", offset, reason));
  const result = readResult(reader);
  reader.expectEnd();
  return result;
}
