import { invariant } from "../../assert/invariant.js";
import type { Entry } from "../../raft/types.js";
import type { KvResult } from "../../kv/index.js";
import { NotLeaderError } from "../../server/errors.js";
import type { Replica } from "../../server/replica.js";
import { ReplicaService } from "../../server/replica-service.js";
import type { Tracer } from "../../trace/index.js";
import type { SafetyChecker } from "./checker.js";
import { applyOutcome, expiringPutCommand, readOutput, writeCommand } from "./kv-adapter.js";
import type { MemberChecks } from "./member-checks.js";
import type { ApplyOutcome } from "./state-machine.js";
import type { ClientReply, ClientRequest } from "./types.js";

export interface MemberClientPortContext {
  readonly tracer: Tracer;
  readonly checker: SafetyChecker;
  readonly checks: MemberChecks;
  /** The entry whose apply gave `result` (the member records each apply's result). */
  entryOf(result: KvResult): Entry | undefined;
  /** Runs a check; a failure stops the run. */
  checked(check: () => void): void;
}

const encoder = new TextEncoder();

/**
 * One member process's client port in the simulator: requests served as a server serves
 * them, through the KV service on the Replica (server/replica-service.ts) — reads take a
 * ReadIndex round on any member, writes are the leader's, a follower names its leader —
 * and each answer checked against what the member applied.
 */
export class MemberClientPort {
  private readonly service: ReplicaService;

  constructor(private readonly replica: Replica, private readonly ctx: MemberClientPortContext) {
    this.service = new ReplicaService(replica, { quotaBytes: 0, leaderHint: (leaderId) => ({ leaderId }), tracer: ctx.tracer });
  }

  /** Not `async`: an answer is checked in the turn its service call settles, no hop behind it. */
  serve(request: ClientRequest): Promise<ApplyOutcome> {
    const op = request.op;
    switch (op.kind) {
      case "register":
        return this.service.registerSession().then((sessionId) => ({ rendered: "register", sessionId }));
      case "probe":
        return this.replica.propose({ type: "tick" }).then(() => ({ rendered: "probe" }));
      case "read":
        return this.read(op.key);
      case "write":
        return this.service.write(writeCommand(op.session, op.input)).then((result) => this.answered(result));
      case "expiring-put":
        return this.service.write(expiringPutCommand(op.session, op.key, op.value, op.ttlMs)).then((result) => this.answered(result));
    }
  }

  /**
   * A linearizable read from any member: the ReadIndex round, then the local state. A
   * leader's read must not precede its term's first entry, judged if the member still
   * leads the term it asked in.
   */
  private read(key: string): Promise<ApplyOutcome> {
    const replica = this.replica;
    const askedAsLeaderOfTerm = replica.isLeader() ? replica.currentTerm() : undefined;
    return this.service.getMany([encoder.encode(key)], { consistency: "follower" }).then(({ revision, kvs }) => {
      // What the read saw was applied up to `revision`, at or past its read index: a read index before the term's no-op shows here as well.
      if (replica.isLeader() && replica.currentTerm() === askedAsLeaderOfTerm) this.ctx.checked(() => this.ctx.checks.readIndexConfirmed(askedAsLeaderOfTerm, revision));
      return { rendered: "read", output: readOutput(kvs[0]) };
    });
  }

  /** A write's answer, checked as its apply was: an acknowledged write must have executed in a committed entry. */
  private answered(result: KvResult): ApplyOutcome {
    const entry = this.ctx.entryOf(result);
    invariant(entry !== undefined, () => "sim: a member answered a write whose entry it never applied");
    const outcome = applyOutcome(entry.index, entry.data, result);
    if (outcome.exactlyOnce !== undefined && outcome.refused === undefined) this.ctx.checker.writeAcknowledged(outcome.exactlyOnce.id, entry.index);
    return outcome;
  }
}

/** A request that failed: a follower names its leader; anything else is retried elsewhere. */
export function refusalOf(error: unknown): ClientReply {
  if (error instanceof NotLeaderError) return { ok: false, error: "not-leader", leader: error.leader?.leaderId ?? 0 };
  return { ok: false, error: "retry", leader: 0 };
}
