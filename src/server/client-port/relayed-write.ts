import { reframeResponse, type Frame } from "../../protocol/index.js";
import { KvTimeoutError } from "../errors.js";
import type { WriteRelay } from "../forwarding.js";
import type { RequestScope } from "../request-scope.js";
import { POOLED_FRAME_BYTES } from "../pooled-frame-bytes.js";

/** Where a relayed write's answer goes: exactly one of them is called, once. */
export interface RelayedWriteListener {
  /** The leader's WRITE_OK, as a frame for the client under its request id. */
  readonly settled: (reply: Uint8Array) => void;
  /** What the leader's other replies stand for, a lost connection, or the cancel (the deadline passed). */
  readonly failed: (error: unknown) => void;
}

/**
 * A client's write on a follower sent on to the leader as its frame (ClientPortOptions.relay).
 * Returns the cancel (the request's deadline passed: the relay is dropped and `failed`
 * hears it), or undefined when the relay cannot take the write now (no open connection
 * to the leader, no free slot): nothing is called then, and the service forwards it.
 * `frame` is read before this returns. Callbacks, not a promise: on the forwarding
 * member's hot path a promise per write was one more allocation and microtask.
 */
export function relayWrite(relay: WriteRelay, requestId: number, frame: Frame, scope: RequestScope, listener: RelayedWriteListener): (() => void) | undefined {
  let done = false;
  const cancel = relay.relayWrite(frame, scope, (outcome) => {
    if (done) return;
    done = true;
    if ("writeOk" in outcome) listener.settled(reframeResponse(outcome.writeOk, requestId, POOLED_FRAME_BYTES));
    else listener.failed(outcome.error);
  });
  if (cancel === undefined) return undefined;
  return () => {
    if (done) return;
    done = true;
    cancel();
    // A cancelled relay hears nothing more from the leader: the request's slot and its place among the writes are given back here.
    listener.failed(new KvTimeoutError("the relayed write was cancelled: its deadline passed"));
  };
}
