import {
  KvError,
  decodeCommand,
  decodeResult,
  encodeCommand,
  encodeResult,
  isWriteCommand,
  type KeyValue,
  type KvEvent,
  type KvResult,
  type WriteCommand,
} from "../kv/index.js";
import type { ByteReader, ByteWriter } from "../codec/bytes.js";
import { ProtocolEncodeError } from "./errors.js";
import type { Consistency, LeaderRef } from "./messages.js";

/**
 * Values shared by several messages: consistency levels, key-values, watch events,
 * leader references, and the KV layer's own command and result codecs carried as
 * length-prefixed bytes (one definition of a write and its result, whatever the path).
 */

/** Consistency levels by wire value: never renumber, only append. */
const CONSISTENCIES: readonly Consistency[] = ["linearizable", "follower", "serializable"];

/** Event types by wire value: never renumber, only append. */
const EVENT_PUT = 0;
const EVENT_DELETE = 1;
const EVENT_FLUSH = 2;

/** Smallest encoded key-value: empty key and value lengths, flags, two versions, expiry flag. */
export const KEY_VALUE_BYTES_MIN = 1 + 1 + 4 + 1 + 1 + 1;
/** Smallest encoded event: a flush (type and revision). */
export const EVENT_BYTES_MIN = 2;

export function writeConsistency(writer: ByteWriter, consistency: Consistency): void {
  const value = CONSISTENCIES.indexOf(consistency);
  if (value < 0) throw new ProtocolEncodeError("consistency", `is unknown: ${String(consistency)}`);
  writer.u8(value);
}

export function readConsistency(reader: ByteReader): Consistency {
  const start = reader.position;
  const consistency = CONSISTENCIES[reader.u8()];
  if (consistency === undefined) throw reader.invalid(start, "unknown consistency level");
  return consistency;
}

export function writeKeyValue(writer: ByteWriter, kv: KeyValue): void {
  writer.bytes(kv.key, "key");
  writer.bytes(kv.value, "value");
  writer.u32(kv.flags, "flags");
  writer.varint(kv.version, "version");
  writer.varint(kv.createVersion, "createVersion");
  writer.flag(kv.expiresAtMs !== undefined);
  if (kv.expiresAtMs !== undefined) writer.varint(kv.expiresAtMs, "expiresAtMs");
}

/** About the bytes `writeKeyValue` takes, for sizing a frame. */
export function keyValueBytesHint(kv: KeyValue): number {
  return kv.key.length + kv.value.length + 32;
}

export function readKeyValue(reader: ByteReader): KeyValue {
  const key = reader.bytes();
  const value = reader.bytes();
  const flags = reader.u32();
  const version = reader.varint();
  const createVersion = reader.varint();
  const base = { key, value, flags, version, createVersion };
  return reader.flag() ? { ...base, expiresAtMs: reader.varint() } : base;
}

export function writeEvent(writer: ByteWriter, event: KvEvent): void {
  switch (event.type) {
    case "put":
      writer.u8(EVENT_PUT);
      writer.varint(event.revision, "event.revision");
      writer.bytes(event.key, "event.key");
      writer.bytes(event.value, "event.value");
      writer.u32(event.flags, "event.flags");
      writer.varint(event.version, "event.version");
      writer.varint(event.createVersion, "event.createVersion");
      return;
    case "delete":
      writer.u8(EVENT_DELETE);
      writer.varint(event.revision, "event.revision");
      writer.bytes(event.key, "event.key");
      writer.varint(event.previousVersion, "event.previousVersion");
      writer.flag(event.expired);
      return;
    case "flush":
      writer.u8(EVENT_FLUSH);
      writer.varint(event.revision, "event.revision");
      return;
  }
}

/** About the bytes `writeEvent` takes, for sizing a frame. */
export function eventBytesHint(event: KvEvent): number {
  return 32 + (event.type === "flush" ? 0 : event.key.length) + (event.type === "put" ? event.value.length : 0);
}

export function readEvent(reader: ByteReader): KvEvent {
  const start = reader.position;
  const type = reader.u8();
  const revision = reader.varint();
  switch (type) {
    case EVENT_PUT: {
      const key = reader.bytes();
      const value = reader.bytes();
      const flags = reader.u32();
      const version = reader.varint();
      return { type: "put", revision, key, value, flags, version, createVersion: reader.varint() };
    }
    case EVENT_DELETE: {
      const key = reader.bytes();
      const previousVersion = reader.varint();
      return { type: "delete", revision, key, previousVersion, expired: reader.flag() };
    }
    case EVENT_FLUSH:
      return { type: "flush", revision };
    default:
      throw reader.invalid(start, `unknown event type ${type}`);
  }
}

export function writeLeader(writer: ByteWriter, leader: LeaderRef): void {
  writer.varint(leader.leaderId, "leader.leaderId");
  writer.flag(leader.clientAddress !== undefined);
  if (leader.clientAddress !== undefined) writer.string(leader.clientAddress, "leader.clientAddress");
}

export function readLeader(reader: ByteReader): LeaderRef {
  const leaderId = reader.varint();
  return reader.flag() ? { leaderId, clientAddress: reader.string() } : { leaderId };
}

/**
 * A write in the KV command codec. The stamp is 0 on the wire, always: only the leader
 * stamps commands (its clock decides expiry), so a client's clock never matters.
 */
export function writeCommand(writer: ByteWriter, command: WriteCommand): void {
  if (!isWriteCommand(command)) throw new ProtocolEncodeError("command", `a ${(command as { type: string }).type} is not a write`);
  let bytes: Uint8Array;
  try {
    bytes = encodeCommand({ stampMs: 0, command });
  } catch (error) {
    if (error instanceof KvError) throw new ProtocolEncodeError("command", error.message);
    throw error;
  }
  writer.bytes(bytes, "command");
}

export function readCommand(reader: ByteReader): WriteCommand {
  const start = reader.position;
  // A view, not a copy: decodeCommand copies out the key and value it keeps, so a copy
  // of the whole command here was one more ArrayBuffer per write, freed only by the GC.
  const bytes = reader.bytesView();
  let decoded;
  try {
    decoded = decodeCommand(bytes, reader.values);
  } catch (error) {
    if (error instanceof KvError) throw reader.invalid(start, error.message);
    throw error;
  }
  if (decoded.stampMs !== 0) throw reader.invalid(start, `a command's stamp must be 0 on the wire (the leader stamps it), got ${decoded.stampMs}`);
  if (!isWriteCommand(decoded.command)) throw reader.invalid(start, `a ${decoded.command.type} command cannot be sent as a write`);
  return decoded.command;
}

export function writeKvResult(writer: ByteWriter, result: KvResult): void {
  writer.bytes(encodeResult(result), "result");
}

export function readKvResult(reader: ByteReader): KvResult {
  const start = reader.position;
  const bytes = reader.bytes();
  try {
    return decodeResult(bytes);
  } catch (error) {
    if (error instanceof KvError) throw reader.invalid(start, error.message);
    throw error;
  }
}
