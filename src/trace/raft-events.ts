import type { Message } from "../raft/messages.js";
import type { NodeId } from "../raft/types.js";
import type { TraceStamp, Tracer } from "./tracer.js";

/**
 * The trace events of Raft's messages between members, the same for a live member and
 * the simulator, so that both draw alike in ShiViz: hosts are `member-ID`, a message's
 * kind is its Raft type (App, AppResp, Vote, Heartbeat, Snap, ReadIndex, ...) and its
 * details the fields that explain the diagram (term, indexes, entries, commit). Pure.
 */

/** The trace host name of member `id`. */
export function memberHost(id: NodeId): string {
  return `member-${id}`;
}

/** The trace host name of the coordinator. */
export const COORDINATOR_HOST = "coordinator";

/** The fields of `m` worth reading in a diagram, as `name=value` words. */
export function raftMessageDetails(m: Message): string {
  const term = `term=${m.term}`;
  switch (m.type) {
    case "PreVote": case "Vote":
      return `${term} last=${m.lastIndex}/${m.lastTerm}${m.transfer ? " transfer" : ""}`;
    case "PreVoteResp": case "VoteResp":
      return `${term} ${m.reject ? "rejected" : "granted"} commit=${m.commitIndex}`;
    case "App": {
      const entries = m.entries.length === 0 ? "entries=0" : `entries=${m.entries.length} index=${m.prevIndex + 1}..${m.prevIndex + m.entries.length}`;
      return `${term} prev=${m.prevIndex}/${m.prevTerm} ${entries} commit=${m.commit}`;
    }
    case "AppResp":
      return `${term} ${m.reject ? `rejected prev=${m.index} hint=${m.hintIndex}` : `match=${m.index}`}`;
    case "Heartbeat":
      return `${term} commit=${m.commit} round=${m.round}`;
    case "HeartbeatResp":
      return `${term} round=${m.round}${m.behind ? " behind" : ""}`;
    case "Snap":
      return `${term} index=${m.meta.index} offset=${m.offset} bytes=${m.data.length}${m.done ? " done" : ""}`;
    case "SnapResp":
      return `${term} next=${m.nextOffset}${m.done ? " done" : ""}${m.reject ? " rejected" : ""}`;
    case "TimeoutNow":
      return term;
    case "ReadIndex":
      return `${term} reads=${m.requestIds.length}`;
    case "ReadIndexResp":
      return `${term} index=${m.index}${m.reject ? " rejected" : ""}`;
  }
}

/** Records the send of `m`; returns the stamp to put on it (undefined when not tracing). */
export function traceRaftSend(tracer: Tracer, m: Message): TraceStamp | undefined {
  if (!tracer.enabled) return undefined;
  return tracer.send({ kind: m.type, to: memberHost(m.to), details: raftMessageDetails(m) });
}

/** Records the receive of `m` as it is handed to Raft (a local event when it came unstamped). */
export function traceRaftReceive(tracer: Tracer, m: Message, stamp: TraceStamp | undefined): void {
  if (!tracer.enabled) return;
  tracer.receive({ kind: m.type, from: memberHost(m.from), stamp, details: raftMessageDetails(m) });
}
