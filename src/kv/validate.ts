import type { KvCommand } from "./commands.js";
import type { KvConfig } from "./config.js";
import { failure, type KvFailure } from "./results.js";

/**
 * The checks of a command's arguments against the replicated limits. `apply` runs
 * them, so every replica refuses the same commands; the leader may run them first
 * (with the revision it expects) to answer a client without a log entry.
 */
export function checkCommand(command: KvCommand, config: KvConfig, revision: number): KvFailure | undefined {
  if (command.type === "flush-all" && command.ttlMs !== undefined) return checkTtl(command.ttlMs, config, revision);
  if (!("key" in command)) return undefined;
  const keyProblem = checkKey(command.key, config, revision);
  if (keyProblem !== undefined) return keyProblem;
  if ("value" in command && command.value.length > config.valueBytesMax) {
    return tooLarge(revision, "value", command.value.length, config.valueBytesMax);
  }
  if ("ttlMs" in command && command.ttlMs !== undefined) return checkTtl(command.ttlMs, config, revision);
  return undefined;
}

function checkKey(key: Uint8Array, config: KvConfig, revision: number): KvFailure | undefined {
  if (key.length === 0) return failure(revision, "invalid-argument", "key is empty: keys need at least one byte");
  if (key.length > config.keyBytesMax) return tooLarge(revision, "key", key.length, config.keyBytesMax);
  return undefined;
}

function checkTtl(ttlMs: number, config: KvConfig, revision: number): KvFailure | undefined {
  if (ttlMs >= 1 && ttlMs <= config.ttlMsMax) return undefined;
  const message = `ttlMs ${ttlMs} is outside [1, ${config.ttlMsMax}] (ttlMsMax); omit it for a key that never expires`;
  return failure(revision, "invalid-argument", message);
}

export function tooLarge(revision: number, what: string, bytes: number, bytesMax: number): KvFailure {
  const field = what === "key" ? "keyBytesMax" : "valueBytesMax";
  const message = `${what} is ${bytes} bytes, over the limit of ${bytesMax} (${field})`;
  return failure(revision, "too-large", message);
}
