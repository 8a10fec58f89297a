/**
 * The KV state machine: the replicated map that the committed Raft log drives, with
 * versions, expiry, memcached operations, exactly-once sessions, watch events and
 * snapshots. Pure: no IO, no clock, no randomness. See `KvStateMachine` for how to
 * drive it.
 */
export { KvStateMachine, type SnapshotRestore } from "./state-machine.js";
export { DEFAULT_KV_CONFIG, validateKvConfig, type KvConfig } from "./config.js";
export {
  STAMP_MS_MAX,
  UINT32_MAX,
  UINT64_MAX,
  isWriteCommand,
  type AddReplaceCommand,
  type AppendPrependCommand,
  type CloseSessionCommand,
  type CommandEnvelope,
  type CounterCommand,
  type DeleteCommand,
  type FlushAllCommand,
  type KeyWriteCommand,
  type KvCommand,
  type KvCommandType,
  type PutCommand,
  type RegisterSessionCommand,
  type SessionRef,
  type TickCommand,
  type TouchCommand,
  type WriteCommand,
} from "./commands.js";
export { COMMAND_FORMAT_VERSION, decodeCommand, encodeCommand } from "./command-codec.js";
export { decodeResult, encodeResult } from "./result-codec.js";
export { SNAPSHOT_FORMAT_VERSION, type SnapshotEncoder } from "./snapshot-codec.js";
export { KV_ERROR_CODES, type KvErrorCode, type KvFailure, type KvOk, type KvOkKind, type KvResult } from "./results.js";
export type { GetResult, KeyValue, ListOptions, ListResult } from "./reads.js";
export type { EventsResult, KvEvent } from "./events.js";
export { checkCommand } from "./validate.js";
export { fnv1a64 } from "./digest.js";
export {
  CommandDecodeError,
  InvalidCommandError,
  KvArgumentError,
  KvConfigError,
  KvDecodeError,
  KvError,
  ListingExpiredError,
  SnapshotDecodeError,
} from "./errors.js";
