import type { Ready } from "../raft/ready.js";
import type { Entry, NodeId } from "../raft/types.js";
import { memberHost, NO_TRACE, type Tracer } from "../trace/index.js";

/**
 * A member's local trace events, between its sends and receives: role changes, the
 * commit index moving, entries applied (with the request id of the proposal that made
 * the entry, when this member proposed it). With NO_TRACE each call is one test of
 * `enabled`: nothing is formatted.
 */
export class ReplicaTrace {
  private tracedCommit = 0;

  constructor(readonly tracer: Tracer = NO_TRACE) {}

  role(role: string, term: number, leader: NodeId): void {
    if (!this.tracer.enabled) return;
    this.tracer.local(`became ${role} term=${term}${leader === 0 || role === "leader" ? "" : ` leader=${memberHost(leader)}`}`);
  }

  /** After a Ready: the commit index it carries, if it moved forward. */
  commit(ready: Ready): void {
    const commit = ready.hardState?.commit;
    if (!this.tracer.enabled || commit === undefined || commit <= this.tracedCommit) return;
    this.tracedCommit = commit;
    this.tracer.local(`commit index=${commit}`);
  }

  applied(entry: Entry, requestId: string | undefined): void {
    if (!this.tracer.enabled) return;
    this.tracer.local(`apply index=${entry.index} term=${entry.term}${requestId === undefined ? "" : ` req=${requestId}`}`);
  }
}
