import type { KvOutput } from "../../lincheck/history.js";
import type { KvResult } from "../../kv/index.js";
import { KvStateMachine, decodeCommand, encodeCommand } from "../../kv/index.js";
import type { ApplyOutcome, SessionStamp, SimStateMachine, SimStateMachineFactory, WriteInput } from "./state-machine.js";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Results that mean the write was never applied (the client learns it failed for sure). */
const REFUSALS = new Set(["session-expired", "stale-sequence", "too-many-pending", "invalid-argument", "too-large"]);

/** The real KV state machine behind the simulator's seam. */
class KvAdapter implements SimStateMachine {
  constructor(private readonly kv: KvStateMachine) {}

  appliedIndex(): number {
    return this.kv.appliedIndex;
  }

  applyEntry(index: number, data: Uint8Array): ApplyOutcome {
    return applyOutcome(index, data, this.kv.apply(index, data));
  }

  applyNoop(index: number): void {
    this.kv.applyNoop(index);
  }

  read(key: string, readStampMs: number): KvOutput {
    const result = this.kv.get(encoder.encode(key), readStampMs);
    if (!result.ok) return { op: "get", found: false };
    return { op: "get", found: true, value: decoder.decode(result.kv.value), version: result.kv.version };
  }

  snapshot(): Uint8Array {
    return this.kv.snapshot();
  }

  digest(): string {
    return this.kv.digest();
  }
}

/** What applying the entry at `index` (its `data`) returned, as the simulator's checks see it. */
export function applyOutcome(index: number, data: Uint8Array, result: KvResult): ApplyOutcome {
  const outcome = outcomeOf(result);
  const command = decodeCommand(data).command;
  const session = "session" in command ? command.session : undefined;
  if (session === undefined) return outcome;
  // A retry answered from the session cache carries the revision of the entry that
  // executed it; only that entry has its own index as the revision.
  return { ...outcome, exactlyOnce: { id: `${session.sessionId}:${session.seq}`, executed: result.revision === index } };
}

function outcomeOf(result: KvResult): ApplyOutcome {
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

export const kvFactory: SimStateMachineFactory = {
  create: () => new KvAdapter(new KvStateMachine()),
  restore: (snapshot) => new KvAdapter(KvStateMachine.restore(snapshot)),
  bootstrapSnapshot: () => {
    const kv = new KvStateMachine();
    kv.applyNoop(1);
    return kv.snapshot();
  },
  encodeRegister: (stampMs) => encodeCommand({ stampMs, command: { type: "register-session" } }),
  encodeProbe: (stampMs) => encodeCommand({ stampMs, command: { type: "tick" } }),
  encodeExpiringPut: (stampMs, session, key, value, ttlMs) =>
    encodeCommand({ stampMs, command: { type: "put", key: encoder.encode(key), value: encoder.encode(value), ttlMs, session } }),
  encodeWrite: (stampMs, session: SessionStamp, input: WriteInput) => {
    const key = encoder.encode(input.key);
    switch (input.op) {
      case "put":
        return encodeCommand({ stampMs, command: { type: "put", key, value: encoder.encode(input.value), session } });
      case "cas":
        return encodeCommand({ stampMs, command: { type: "put", key, value: encoder.encode(input.value), expectVersion: input.expectVersion, session } });
      case "delete":
        return encodeCommand({ stampMs, command: { type: "delete", key, session } });
    }
  },
};
