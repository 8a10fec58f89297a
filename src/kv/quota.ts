import type { KvCommand } from "./commands.js";
import type { KeyRecord } from "./key-store.js";

/** A counter's value never exceeds 20 decimal digits (2^64 - 1). */
const COUNTER_BYTES_MAX = 20;

/**
 * How many bytes of keys and values `command` could add, judged against the key's
 * current record. An estimate for the leader's quota check: the state may change
 * before the command applies, as with etcd's quota. Commands that cannot grow the
 * data (delete, touch, flush-all, sessions) return 0, so they pass a full quota and
 * let an operator free space.
 */
export function writeGrowthBytes(command: KvCommand, existing: KeyRecord | undefined): number {
  // The existing record is the command's key's, so the key's length is the command's.
  const currentBytes = existing === undefined || !("key" in command) ? 0 : command.key.length + existing.value.length;
  switch (command.type) {
    case "put":
    case "add":
    case "replace":
      return Math.max(0, command.key.length + command.value.length - currentBytes);
    case "append":
    case "prepend":
      return existing === undefined ? 0 : command.value.length;
    case "incr":
    case "decr":
      return existing === undefined ? 0 : Math.max(0, COUNTER_BYTES_MAX - existing.value.length);
    case "delete":
    case "touch":
    case "flush-all":
    case "register-session":
    case "close-session":
    case "tick":
      return 0;
  }
}
