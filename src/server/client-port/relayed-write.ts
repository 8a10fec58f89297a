import { reframeResponse, type Frame } from "../../protocol/index.js";
import { KvTimeoutError } from "../errors.js";
import type { RelayOutcome, RelayScope, WriteRelay } from "../forwarding.js";

/** A write on its way to the leader as its frame, as the client port runs it. */
export interface RelayedWrite {
  /** The leader's WRITE_OK as a frame for the client (under `requestId`); rejects with what the leader's other replies stand for. */
  readonly answer: Promise<Uint8Array>;
  /** The request's deadline passed: the relay is dropped and `answer` settles. */
  readonly cancel: () => void;
}

/**
 * A client's write on a follower sent on to the leader as its frame (ClientPortOptions.relay),
 * or undefined when the relay cannot take it now (no open connection to the leader, no free
 * slot): the service then forwards it. `frame` is read before this returns.
 */
export function relayedWrite(relay: WriteRelay, requestId: number, frame: Frame, scope: RelayScope): RelayedWrite | undefined {
  let settle: ((outcome: RelayOutcome) => void) | undefined;
  const answer = new Promise<Uint8Array>((resolve, reject) => {
    settle = (outcome) => ("writeOk" in outcome ? resolve(reframeResponse(outcome.writeOk, requestId)) : reject(outcome.error));
  });
  const cancel = relay.relayWrite(frame, scope, (outcome) => settle?.(outcome));
  if (cancel === undefined) return undefined;
  return {
    answer,
    cancel: () => {
      cancel();
      // A cancelled relay hears nothing more from the leader: its answer settles here, so the request's slot and its place among the writes are given back.
      settle?.({ error: new KvTimeoutError("the relayed write was cancelled: its deadline passed") });
    },
  };
}
