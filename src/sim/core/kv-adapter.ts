import type { KvOutput } from "../../lincheck/history.js";
import type { KeyValue, KvResult, WriteCommand } from "../../kv/index.js";
import { KvStateMachine, decodeCommand } from "../../kv/index.js";
import type { ApplyOutcome, WriteInput } from "./state-machine.js";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** An outcome still being put together: applyOutcome adds the exactly-once id. */
type OpenOutcome = { -readonly [K in keyof ApplyOutcome]: ApplyOutcome[K] };

/** Results that mean the write was never applied (the client learns it failed for sure). */
const REFUSALS = new Set(["session-expired", "stale-sequence", "too-many-pending", "invalid-argument", "too-large"]);

/**
 * The exactly-once id of each entry's command (null: it has none), by the entry's data:
 * every member applies the same bytes (the network hands them on, it does not copy them),
 * so a command is decoded once per run instead of once per member. A cache of a pure
 * function, so runs stay a function of their seeds.
 */
const writeIdOfData = new WeakMap<Uint8Array, string | null>();

/** The command's exactly-once id, `session:seq`; undefined when it has no session. */
function writeIdOf(data: Uint8Array): string | undefined {
  let id = writeIdOfData.get(data);
  if (id === undefined) {
    const command = decodeCommand(data).command;
    id = "session" in command && command.session !== undefined ? `${command.session.sessionId}:${command.session.seq}` : null;
    writeIdOfData.set(data, id);
  }
  return id ?? undefined;
}

/** What applying the entry at `index` (its `data`) returned, as the simulator's checks see it. */
export function applyOutcome(index: number, data: Uint8Array, result: KvResult): ApplyOutcome {
  const outcome = resultOutcome(result);
  const id = writeIdOf(data);
  if (id === undefined) return outcome;
  // A retry answered from the session cache carries the revision of the entry that
  // executed it; only that entry has its own index as the revision. A refusal (its
  // session expired, its seq already acknowledged) executes nothing.
  outcome.exactlyOnce = { id, executed: outcome.refused === undefined && result.revision === index };
  return outcome;
}

/** What a write's result says, without its entry: what the history records of it. */
export function resultOutcome(result: KvResult): OpenOutcome {
  const rendered = result.ok
    ? `ok:${result.kind}:${result.revision}:${"version" in result ? result.version : ""}`
    : `err:${result.error}:${result.revision}:${result.currentVersion ?? ""}`;
  if (!result.ok) {
    if (REFUSALS.has(result.error)) return { rendered, refused: result.error };
    if (result.error === "version-mismatch") return { rendered, output: { op: "cas", ok: false } };
    if (result.error === "not-found") return { rendered, output: { op: "delete", deleted: false } };
    return { rendered, refused: result.error };
  }
  switch (result.kind) {
    case "session-registered":
      return { rendered, sessionId: result.sessionId };
    case "stored":
      return { rendered, output: { op: "put", version: result.version } };
    case "deleted":
      return { rendered, output: { op: "delete", deleted: true } };
    default:
      return { rendered };
  }
}

/** The state at the bootstrap snapshot (index 1: nothing applied but the bootstrap). */
export function bootstrapSnapshot(): Uint8Array {
  const kv = new KvStateMachine();
  kv.applyNoop(1);
  return kv.snapshot();
}

/** A read's output as the linearizability check sees it. */
export function readOutput(kv: KeyValue | undefined): KvOutput {
  if (kv === undefined) return { op: "get", found: false };
  return { op: "get", found: true, value: decoder.decode(kv.value), version: kv.version };
}

/** A put with a time to live, on a key outside the linearizability check (the client library adds the session). */
export function expiringPutCommand(key: string, value: string, ttlMs: number): WriteCommand {
  return { type: "put", key: encoder.encode(key), value: encoder.encode(value), ttlMs };
}

/** A client's write as the client library takes it; a compare-and-set is a put with the version it expects. */
export function writeCommand(input: WriteInput): WriteCommand {
  const key = encoder.encode(input.key);
  switch (input.op) {
    case "put":
      return { type: "put", key, value: encoder.encode(input.value) };
    case "cas":
      return { type: "put", key, value: encoder.encode(input.value), expectVersion: input.expectVersion };
    case "delete":
      return { type: "delete", key };
  }
}
