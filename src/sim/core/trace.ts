import type { Message } from "../../raft/messages.js";
import type { ReplicaMember } from "./replica-member.js";

/**
 * The run's schedule as lines a reader can follow, kept only when asked for (--trace).
 * It holds the whole run, unbounded by design: `kvraft sim --trace-lines 0` prints it
 * all, and a run is bounded by its virtual time (and --steps, which the user sets).
 */
export class TraceLog {
  readonly lines: string[] = [];

  constructor(readonly enabled: boolean) {}

  add(timeMs: number, step: number, line: string): void {
    if (this.enabled) this.lines.push(`t=${roundMs(timeMs)} step=${step} ${line}`);
  }
}

/** Virtual times are printed to a hundredth of a millisecond: enough to order the steps. */
export function roundMs(ms: number): number {
  return Math.round(ms * 100) / 100;
}

export function describeMessage(m: Message): string {
  return `${m.type} ${m.from}->${m.to} ${describeMessageFields(m)}`;
}

/** What a message says besides its type and ends (the ShiViz trace names those itself). */
export function describeMessageFields(m: Message): string {
  const term = `term=${m.term}`;
  switch (m.type) {
    case "App":
      return `${term} prev=${m.prevIndex}/${m.prevTerm} entries=${m.entries.length} commit=${m.commit}`;
    case "AppResp":
      return `${term} ${m.reject ? "reject" : "ok"} index=${m.index}`;
    case "Vote":
    case "PreVote":
      return `${term} last=${m.lastIndex}/${m.lastTerm}`;
    case "VoteResp":
    case "PreVoteResp":
      return `${term} ${m.reject ? "reject" : "grant"}`;
    default:
      return term;
  }
}

/** One line per node: what a trace reader needs to see of the state that broke. */
export function describeNode(node: ReplicaMember): string {
  const st = node.replica?.status();
  if (st === undefined) return `node ${node.id}: ${node.alive ? "starting" : "down"} (durable term ${node.disk.hardState().term}, last index ${node.disk.lastIndex()})`;
  return `node ${node.id}: ${st.role} term ${st.term} leader ${st.leader} commit ${st.commit} applied ${st.applied} last ${st.lastIndex}`
    + ` voters [${st.voters.join(",")}] learners [${st.learners.join(",")}]${st.nonVoting ? " non-voting" : ""}`;
}
