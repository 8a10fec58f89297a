import { ByteReader, ByteWriter, type ByteValues } from "./bytes.js";
import {
  STAMP_MS_MAX,
  UINT32_MAX,
  UINT64_MAX,
  type CommandEnvelope,
  type KvCommand,
  type KvCommandType,
  type SessionRef,
  isWriteCommand,
} from "./commands.js";
import { CommandDecodeError, InvalidCommandError } from "./errors.js";

/**
 * The binary form of a command envelope, as stored in a Raft entry:
 *
 *   version u8 | opcode u8 | stampMs varint | optional-field bits u8
 *   | [session: sessionId, seq, lowestUnackedSeq varints] | fields of the opcode
 *
 * Keys and values are varint-length-prefixed bytes; flags a fixed uint32; delta a
 * fixed uint64. An optional field is present exactly when its bit is set, and each
 * opcode accepts only its own bits, so every envelope has one encoding.
 */
export const COMMAND_FORMAT_VERSION = 1;

/** Opcodes are persisted in the log: never renumber, only append. */
const OPCODES: readonly KvCommandType[] = [
  "register-session",
  "close-session",
  "tick",
  "put",
  "delete",
  "add",
  "replace",
  "append",
  "prepend",
  "incr",
  "decr",
  "touch",
  "flush-all",
];
const OPCODE_BY_TYPE = new Map(OPCODES.map((type, opcode) => [type, opcode]));

const HAS_SESSION = 1;
const HAS_FLAGS = 2;
const HAS_EXPECT_VERSION = 4;
const HAS_TTL = 8;

/** The optional fields each command type may carry. */
const ALLOWED_BITS: { readonly [T in KvCommandType]: number } = {
  "register-session": 0,
  "close-session": 0,
  tick: 0,
  put: HAS_SESSION | HAS_FLAGS | HAS_EXPECT_VERSION | HAS_TTL,
  delete: HAS_SESSION | HAS_EXPECT_VERSION,
  add: HAS_SESSION | HAS_FLAGS | HAS_TTL,
  replace: HAS_SESSION | HAS_FLAGS | HAS_TTL,
  append: HAS_SESSION,
  prepend: HAS_SESSION,
  incr: HAS_SESSION,
  decr: HAS_SESSION,
  touch: HAS_SESSION | HAS_TTL,
  "flush-all": HAS_SESSION | HAS_TTL,
};

/** Encodes an envelope; throws `InvalidCommandError` for a value the format cannot hold. */
export function encodeCommand(envelope: CommandEnvelope): Uint8Array {
  const { command } = envelope;
  const opcode = OPCODE_BY_TYPE.get(command.type);
  if (opcode === undefined) throw new InvalidCommandError("type", `is unknown: ${String(command.type)}`);
  const writer = new ByteWriter(encodedCommandBytesHint(command));
  writer.u8(COMMAND_FORMAT_VERSION);
  writer.u8(opcode);
  writer.varint(checkStamp(envelope.stampMs));
  const bits = optionalBits(command);
  writer.u8(bits);
  if ("session" in command && command.session !== undefined) writeSession(writer, command.session);
  writeFields(writer, command);
  return writer.finish();
}

/** About the bytes `encodeCommand` takes, for sizing its buffer: the key and value, and room for the rest (71 bytes at most, usually under 30). */
export function encodedCommandBytesHint(command: KvCommand): number {
  return 64 + ("key" in command ? command.key.length : 0) + ("value" in command ? command.value.length : 0);
}

function optionalBits(command: KvCommand): number {
  let bits = 0;
  if ("session" in command && command.session !== undefined) bits |= HAS_SESSION;
  if ("flags" in command && command.flags !== undefined) bits |= HAS_FLAGS;
  if ("expectVersion" in command && command.expectVersion !== undefined) bits |= HAS_EXPECT_VERSION;
  if ("ttlMs" in command && command.ttlMs !== undefined) bits |= HAS_TTL;
  return bits;
}

function writeSession(writer: ByteWriter, session: SessionRef): void {
  writer.varint(checkUint("session.sessionId", session.sessionId));
  writer.varint(checkUint("session.seq", session.seq));
  writer.varint(checkUint("session.lowestUnackedSeq", session.lowestUnackedSeq));
}

function writeFields(writer: ByteWriter, command: KvCommand): void {
  switch (command.type) {
    case "register-session":
    case "tick":
      return;
    case "flush-all":
      if (command.ttlMs !== undefined) writer.varint(checkUint("ttlMs", command.ttlMs));
      return;
    case "close-session":
      writer.varint(checkUint("sessionId", command.sessionId));
      return;
    case "put":
    case "add":
    case "replace":
      writer.bytes(command.key);
      writer.bytes(command.value);
      if (command.flags !== undefined) writer.u32(checkFlags(command.flags));
      if ("expectVersion" in command && command.expectVersion !== undefined) {
        writer.varint(checkUint("expectVersion", command.expectVersion));
      }
      if (command.ttlMs !== undefined) writer.varint(checkUint("ttlMs", command.ttlMs));
      return;
    case "delete":
      writer.bytes(command.key);
      if (command.expectVersion !== undefined) writer.varint(checkUint("expectVersion", command.expectVersion));
      return;
    case "append":
    case "prepend":
      writer.bytes(command.key);
      writer.bytes(command.value);
      return;
    case "incr":
    case "decr":
      writer.bytes(command.key);
      if (typeof command.delta !== "bigint" || command.delta < 0n || command.delta > UINT64_MAX) {
        throw new InvalidCommandError("delta", `must be a bigint in [0, 2^64 - 1], got ${String(command.delta)}`);
      }
      writer.u64(command.delta);
      return;
    case "touch":
      writer.bytes(command.key);
      if (command.ttlMs !== undefined) writer.varint(checkUint("ttlMs", command.ttlMs));
      return;
  }
}

function checkUint(field: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new InvalidCommandError(field, `must be an integer in [0, 2^53 - 1], got ${value}`);
  }
  return value;
}

function checkStamp(stampMs: number): number {
  if (checkUint("stampMs", stampMs) > STAMP_MS_MAX) {
    throw new InvalidCommandError("stampMs", `must be at most 2^52, got ${stampMs}`);
  }
  return stampMs;
}

function checkFlags(flags: number): number {
  if (!Number.isInteger(flags) || flags < 0 || flags > UINT32_MAX) {
    throw new InvalidCommandError("flags", `must be an integer in [0, 2^32 - 1], got ${flags}`);
  }
  return flags;
}

/**
 * Decodes an envelope; throws `CommandDecodeError` (and only that) for malformed bytes.
 * With "views" the command's keys and values view `bytes` (see ByteValues).
 */
export function decodeCommand(bytes: Uint8Array, values: ByteValues = "copies"): CommandEnvelope {
  const reader = new ByteReader(bytes, (offset, reason) => new CommandDecodeError("command", offset, reason), values);
  const version = reader.u8();
  if (version !== COMMAND_FORMAT_VERSION) {
    throw reader.invalid(0, `unsupported format version ${version} (this build reads ${COMMAND_FORMAT_VERSION})`);
  }
  const opcode = reader.u8();
  const type = OPCODES[opcode];
  if (type === undefined) throw reader.invalid(1, `unknown opcode ${opcode}`);
  const stampOffset = reader.position;
  const stampMs = reader.varint();
  if (stampMs > STAMP_MS_MAX) throw reader.invalid(stampOffset, `stampMs ${stampMs} is above 2^52`);
  const bitsOffset = reader.position;
  const bits = reader.u8();
  if ((bits & ~ALLOWED_BITS[type]) !== 0) {
    throw reader.invalid(bitsOffset, `optional-field bits 0x${bits.toString(16)} not allowed for ${type}`);
  }
  const session = bits & HAS_SESSION ? readSession(reader) : undefined;
  const command = readFields(reader, type, bits);
  reader.expectEnd();
  return { stampMs, command: session === undefined ? command : withSession(command, session, bitsOffset) };

  function withSession(command: KvCommand, session: SessionRef, offset: number): KvCommand {
    // ALLOWED_BITS admits a session only for writes; this check lets the compiler see it.
    if (!isWriteCommand(command)) throw reader.invalid(offset, `${command.type} cannot carry a session`);
    // readFields made `command` just now: stamped rather than copied (a spread of the command union is a megamorphic clone).
    (command as { session?: SessionRef }).session = session;
    return command;
  }
}

function readSession(reader: ByteReader): SessionRef {
  const sessionId = reader.varint();
  const seq = reader.varint();
  const lowestUnackedSeq = reader.varint();
  return { sessionId, seq, lowestUnackedSeq };
}

function readFields(reader: ByteReader, type: KvCommandType, bits: number): KvCommand {
  switch (type) {
    case "register-session":
    case "tick":
      return { type };
    case "flush-all":
      return bits & HAS_TTL ? { type, ttlMs: reader.varint() } : { type };
    case "close-session":
      return { type, sessionId: reader.varint() };
    case "put":
    case "add":
    case "replace": {
      const key = reader.bytes();
      const value = reader.bytes();
      const flags = bits & HAS_FLAGS ? reader.u32() : undefined;
      const expectVersion = bits & HAS_EXPECT_VERSION ? reader.varint() : undefined;
      const ttlMs = bits & HAS_TTL ? reader.varint() : undefined;
      return {
        type,
        key,
        value,
        ...(flags === undefined ? {} : { flags }),
        ...(expectVersion === undefined ? {} : { expectVersion }),
        ...(ttlMs === undefined ? {} : { ttlMs }),
      };
    }
    case "delete": {
      const key = reader.bytes();
      return bits & HAS_EXPECT_VERSION ? { type, key, expectVersion: reader.varint() } : { type, key };
    }
    case "append":
    case "prepend":
      return { type, key: reader.bytes(), value: reader.bytes() };
    case "incr":
    case "decr":
      return { type, key: reader.bytes(), delta: reader.u64() };
    case "touch": {
      const key = reader.bytes();
      return bits & HAS_TTL ? { type, key, ttlMs: reader.varint() } : { type, key };
    }
  }
}
