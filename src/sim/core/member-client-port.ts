import { invariant } from "../../assert/invariant.js";
import type { Entry } from "../../raft/types.js";
import type { KvResult } from "../../kv/index.js";
import { PROTOCOL_ERROR_CODE, type Request, type Response } from "../../protocol/index.js";
import { validateClientPortOptions, type ClientPortOptions, type LeadershipView } from "../../server/client-port/config.js";
import { executeRequest, helloReply, redirectBeforeService, type HandlerContext, type ServiceRequest } from "../../server/client-port/handlers.js";
import { errorReply } from "../../server/client-port/replies.js";
import type { LeaderHint } from "../../server/kv-service.js";
import type { Replica } from "../../server/replica.js";
import { ReplicaService } from "../../server/replica-service.js";
import type { Tracer } from "../../trace/index.js";
import type { SafetyChecker } from "./checker.js";
import { applyOutcome } from "./kv-adapter.js";
import type { MemberChecks } from "./member-checks.js";
import type { RequestScope } from "../../server/request-scope.js";

export interface MemberClientPortContext {
  readonly tracer: Tracer;
  /** How long a request may wait for the cluster: the Replica's own request timeout. */
  readonly requestTimeoutMs: number;
  readonly checker: SafetyChecker;
  readonly checks: MemberChecks;
  /** The client address members advertise for member `id` (what a REDIRECT names). */
  clientAddressOf(id: number): string;
  /** The entry whose apply gave `result` (the member records each apply's result). */
  entryOf(result: KvResult): Entry | undefined;
  /** Runs a check; a failure stops the run. */
  checked(check: () => void): void;
}

/** A request the simulator's clients make that a member's port answers with one reply. */
function isServiceRequest(request: Request): request is ServiceRequest {
  switch (request.kind) {
    case "register-session":
    case "get":
    case "get-many":
    case "list":
    case "write":
    case "status":
      return true;
    default:
      return false;
  }
}

/**
 * One member process's client port in the simulator: each request of the binary
 * protocol answered as the server's port answers it (server/client-port/handlers.ts:
 * HELLO_OK, the redirect of a request that needs the leader, the KV service's call, the
 * reply mapping of its errors), and each answer checked against what the member applied.
 * The wire codec and the socket are what is left out: the requests arrive as values.
 */
export class MemberClientPort {
  private readonly options: ClientPortOptions;
  private readonly direct: HandlerContext;
  private readonly forwarding: HandlerContext;

  constructor(private readonly replica: Replica, private readonly memberId: number, private readonly ctx: MemberClientPortContext) {
    const leaderHint = (leaderId: number): LeaderHint => ({ leaderId, clientAddress: ctx.clientAddressOf(leaderId) });
    const service = new ReplicaService(replica, { quotaBytes: 0, leaderHint, tracer: ctx.tracer });
    this.options = validateClientPortOptions({
      statusJson: () => replica.status(),
      leadership: () => this.leadership(),
      requestTimeoutMs: ctx.requestTimeoutMs,
    });
    const base = { service, options: this.options, clientName: "sim-client" };
    this.direct = { ...base, forward: false };
    this.forwarding = { ...base, forward: true };
  }

  /** The reply to `request` on a connection whose HELLO asked for forwarding (`forward`) or not; `scope` carries its request id. */
  serve(request: Request, forward: boolean, scope: RequestScope): Promise<Response> {
    if (request.kind === "hello") return Promise.resolve(helloReply(this.options, request.requestId));
    if (!isServiceRequest(request)) {
      return Promise.resolve({ kind: "error", requestId: request.requestId, code: PROTOCOL_ERROR_CODE, message: `the simulated port does not serve ${request.kind}`, retryable: false });
    }
    const context = forward ? this.forwarding : this.direct;
    const redirect = redirectBeforeService(context, request);
    if (redirect !== undefined) return Promise.resolve(redirect);
    const replica = this.replica;
    const askedAsLeaderOfTerm = replica.isLeader() ? replica.currentTerm() : undefined;
    return executeRequest(context, request, scope).then((response) => this.checkedAnswer(response, askedAsLeaderOfTerm), (error: unknown) => {
      const { reply, internal } = errorReply(request.requestId, error);
      // The server logs these as bugs below the port; here they end the run.
      this.ctx.checked(() => invariant(!internal, () => `sim: member ${this.memberId} failed a ${request.kind} with no error class for it: ${String(error)}`));
      return reply;
    });
  }

  /** A no-op entry through the leader's log, answered once applied (the healed phase's liveness probe). */
  probe(): Promise<unknown> {
    return this.replica.propose({ type: "tick" });
  }

  private leadership(): LeadershipView {
    const leaderId = this.replica.leaderId();
    return leaderId === 0 ? { memberId: this.memberId, leaderId } : { memberId: this.memberId, leaderId, leaderClientAddress: this.ctx.clientAddressOf(leaderId) };
  }

  /**
   * An answer, checked as its apply was: an acknowledged write must have executed in a
   * committed entry; a leader's read must not precede its term's first entry (judged if
   * the member still leads the term it asked in).
   */
  private checkedAnswer(response: Response, askedAsLeaderOfTerm: number | undefined): Response {
    this.ctx.checked(() => {
      if (response.kind === "write-ok") {
        const entry = this.ctx.entryOf(response.result);
        invariant(entry !== undefined, () => "sim: a member answered a write whose entry it never applied");
        const outcome = applyOutcome(entry.index, entry.data, response.result);
        if (outcome.exactlyOnce !== undefined && outcome.refused === undefined) this.ctx.checker.writeAcknowledged(outcome.exactlyOnce.id, entry.index);
      } else if (response.kind === "get-ok" || response.kind === "get-many-ok" || response.kind === "list-ok") {
        const replica = this.replica;
        // What the read saw was applied up to `revision`, at or past its read index: a read index before the term's no-op shows here as well.
        if (replica.isLeader() && replica.currentTerm() === askedAsLeaderOfTerm) this.ctx.checks.readIndexConfirmed(askedAsLeaderOfTerm, response.revision);
      }
    });
    return response;
  }
}
