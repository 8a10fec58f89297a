import type { KvResult, ListResult, WriteCommand } from "../kv/index.js";
import {
  CONTEXT_FLAG, PERMISSION_DENIED_CODE, ResponseKind, UNAUTHENTICATED_CODE, decodeResponse, encodeRelayedRequest,
  type Frame, type Request, type Response, type WireRequestContext,
} from "../protocol/index.js";
import type { MemberAddresses } from "../protocol/status.js";
import { newRequestId } from "../request-id.js";
import type { ClientTlsOptions } from "../security/client-credentials.js";
import { memberHost, NO_TRACE, type Tracer } from "../trace/index.js";
import { tcpDialerCoalescing, tlsDialer, type Dialer, type WriteCoalescing } from "../protocol-link/dialer.js";
import { PipelinedConnection, type PipelineErrors } from "../protocol-link/pipelined-connection.js";
import { encodeCallerText } from "./auth/caller.js";
import { BusyError, InvalidRequestError, KvTimeoutError, NotLeaderError, UnavailableError } from "./errors.js";
import { expectReply, leaderReplyError } from "./forward-replies.js";
import { validateForwardsInFlightMax } from "./forward-limits.js";
import type { GetOutcome, ListPageOptions } from "./kv-service.js";
import { POOLED_FRAME_BYTES } from "./pooled-frame-bytes.js";
import type { RequestScope } from "./request-scope.js";

/** Where the leader is: its id (0: none known) and the addresses members advertised. */
export interface ForwardTarget {
  leaderId(): number;
  addresses(id: number): MemberAddresses;
}

/**
 * Sends an operation to the leader when this member is not it. `timeoutMs` is what is
 * left of the request's deadline (undefined: the forwarder's requestTimeoutMs); `scope`
 * the client request it serves and its caller, named to the leader.
 */
export interface LeaderForwarder {
  getMany(keys: readonly Uint8Array[], timeoutMs: number | undefined, scope: RequestScope): Promise<{ revision: number; kvs: GetOutcome["kv"][] }>;
  list(prefix: Uint8Array, page: ListPageOptions, timeoutMs: number | undefined, scope: RequestScope): Promise<ListResult>;
  write(command: WriteCommand, timeoutMs: number | undefined, scope: RequestScope): Promise<KvResult>;
  registerSession(timeoutMs: number | undefined, scope: RequestScope): Promise<number>;
  close(): void;
}

export interface BinaryForwarderOptions {
  /** This member's id: the leader's logs name the connection after it. */
  readonly memberId: number;
  /** A forwarded request's time when its caller gave none (the member's requestTimeoutMs). */
  readonly requestTimeoutMs: number;
  /** Requests this member forwards at once; one more is answered BUSY at once (FORWARDS_IN_FLIGHT_MAX_BOUNDS). */
  readonly forwardsInFlightMax: number;
  /** The largest frame this member sends or takes (the client port's frameBytesMax). */
  readonly frameBytesMax: number;
  /** TLS to the leader's binary port, read per dial (a rotated certificate is used for the next connection); undefined: plain TCP. */
  readonly tls: () => ClientTlsOptions | undefined;
  /** The leader can tell this member from a client: member certificates on the client ports. */
  readonly provesMember: boolean;
  /** Client authentication is on: the leader then takes forwarded requests only from proven members. */
  readonly authRequired: boolean;
  /** The member's tracer (--trace-log): each forward is a send to the leader, its answer a receive. */
  readonly tracer?: Tracer;
  /** How to reach the leader's port instead of tcp/tls (tests). */
  readonly dialer?: Dialer;
}

/** What became of a relayed write: the leader's WRITE_OK frame as it came, or the error its other replies stand for. */
export type RelayOutcome = { readonly writeOk: Frame } | { readonly error: Error };

/**
 * A client's write frame sent on to the leader as it came (the client port's fast path
 * on a follower, forwarding.ts): undefined when it cannot go at once, and the request
 * then takes the service's path, which forwards it too. The answered function cancels
 * the relay (the request's deadline passed).
 */
export interface WriteRelay {
  relayWrite(frame: Frame, scope: RequestScope, done: (outcome: RelayOutcome) => void): (() => void) | undefined;
}

interface LeaderLink {
  readonly leaderId: number;
  readonly address: string;
  readonly connection: Promise<LeaderConnection>;
}

/** The connection to the leader, and whether the leader takes a caller's trace context in a frame's context (a member from before it refuses one). */
interface LeaderConnection {
  readonly connection: PipelinedConnection;
  readonly takesTraceContext: boolean;
}

/**
 * The traceparent in the HELLO that probes whether the leader takes trace context fields.
 * All zeros, which W3C calls invalid: HELLO's context is never put into a request scope,
 * and if it were, it would be dropped rather than mistaken for a caller's trace.
 */
const TRACE_CONTEXT_PROBE = "00-00000000000000000000000000000000-0000000000000000-00";

/**
 * The requests this member's client connections brought in one pass of the event loop
 * leave for the leader in one write, not one per client connection: the leader reads
 * them in one go, so they share its next Ready and group commit, and it spends one read
 * and one turn on them. Measured with `kvraft bench cluster` (put-64-follower): about
 * a fifth as many writes to the leader, five times the bytes each.
 */
const FORWARD_COALESCING: WriteCoalescing = "loop-iteration";
const FORWARD_TCP_DIALER = tcpDialerCoalescing(FORWARD_COALESCING);

/** The forwarder's connection failures as the service's classes: all retryable. */
const FORWARD_ERRORS: PipelineErrors = {
  lost: (message, cause) => new UnavailableError(`forwarding to the leader failed: ${message}; retry (a write retried with the same session and seq is applied once)`, { cause }),
  timedOut: (message) => new KvTimeoutError(`forwarding to the leader: ${message}`),
  invalid: (message) => new InvalidRequestError(message),
};

/**
 * Followers forward requests to the leader over the binary client protocol, the one
 * clients speak: one pipelined connection to the leader's client port, replies in
 * their own frames with typed errors, so a client behind a Service or a port-forward,
 * which cannot reach pods by name, still gets a linearizable answer from any member.
 *
 * A write goes as the client sent it, its session ref included: a client retrying
 * through a follower (after a lost connection, a timeout, a leader change) is answered
 * from the session's cache, never applied twice. The connection says HELLO without
 * `forward`, so a member that is no longer the leader answers REDIRECT (a retryable
 * NotLeaderError here) instead of forwarding again. Each request carries its request id,
 * the caller's W3C traceparent and tracestate when it sent them, this member's trace
 * stamp, and with authentication on the caller it is forwarded for, which the leader
 * checks itself; the connection proves this member with its member certificate (never a
 * token).
 */
export class BinaryForwarder implements LeaderForwarder, WriteRelay {
  private link: LeaderLink | undefined;
  /** The link's connection once its HELLO is done: what relayWrite sends on. */
  private openLink: { readonly link: LeaderLink; readonly connection: LeaderConnection } | undefined;
  private inFlight = 0;
  /** Set by close(): the member is stopping, and dials no more. */
  private closed = false;
  private readonly tracer: Tracer;

  constructor(
    private readonly target: ForwardTarget,
    private readonly options: BinaryForwarderOptions,
  ) {
    validateForwardsInFlightMax(options.forwardsInFlightMax);
    this.tracer = options.tracer ?? NO_TRACE;
  }

  async getMany(keys: readonly Uint8Array[], timeoutMs: number | undefined, scope: RequestScope): Promise<{ revision: number; kvs: GetOutcome["kv"][] }> {
    const key = keys[0];
    if (keys.length === 1 && key !== undefined) {
      const reply = await this.call("get", timeoutMs, scope, (requestId) => ({ kind: "get", requestId, key, consistency: "linearizable" }), "get-ok");
      return { revision: reply.revision, kvs: [reply.kv] };
    }
    const reply = await this.call("get-many", timeoutMs, scope, (requestId) => ({ kind: "get-many", requestId, keys, consistency: "linearizable" }), "get-many-ok");
    return { revision: reply.revision, kvs: [...reply.kvs] };
  }

  async list(prefix: Uint8Array, page: ListPageOptions, timeoutMs: number | undefined, scope: RequestScope): Promise<ListResult> {
    const reply = await this.call("list", timeoutMs, scope, (requestId) => ({
      kind: "list", requestId, prefix, limit: page.limit, consistency: "linearizable",
      ...(page.after === undefined ? {} : { after: page.after }), ...(page.revision === undefined ? {} : { revision: page.revision }),
    }), "list-ok");
    return { revision: reply.revision, entries: [...reply.entries], ...(reply.nextAfter === undefined ? {} : { nextAfter: reply.nextAfter }) };
  }

  async write(command: WriteCommand, timeoutMs: number | undefined, scope: RequestScope): Promise<KvResult> {
    return (await this.call("write", timeoutMs, scope, (requestId) => ({ kind: "write", requestId, command }), "write-ok")).result;
  }

  async registerSession(timeoutMs: number | undefined, scope: RequestScope): Promise<number> {
    return (await this.call("register-session", timeoutMs, scope, (requestId) => ({ kind: "register-session", requestId }), "session-ok")).sessionId;
  }

  /**
   * The fast path for a client's write on a follower, which is most of what a follower
   * forwards under load: the client's frame goes on to the leader with its command bytes
   * copied, not decoded into a command and encoded again, and the leader's WRITE_OK comes
   * back as a frame for the client port to send on under the client's request id. The
   * context and the caller are the ones `write` would send. Measured side by side
   * (put-64 and put-64-follower alternating on one cluster, 6 rounds of 3 s): writes
   * through a follower went from 0.64-0.71x the writes to the leader to 0.72-0.85x. Only
   * on the open connection to the current leader, with a free slot and tracing off (a
   * trace records each forward's send and receive, which `call` does).
   */
  relayWrite(frame: Frame, scope: RequestScope, done: (outcome: RelayOutcome) => void): (() => void) | undefined {
    const open = this.openLink;
    const leader = this.target.leaderId();
    if (open === undefined || this.closed || this.tracer.enabled || this.inFlight >= this.options.forwardsInFlightMax) return undefined;
    if (open.link.leaderId !== leader || open.link.address !== this.target.addresses(leader).client) return undefined;
    const context = this.wireContext("write", leader, open.connection.takesTraceContext, scope);
    let settled = false;
    const settle = (): void => {
      if (settled) return;
      settled = true;
      this.inFlight--;
    };
    this.inFlight++;
    const cancel = open.connection.connection.relay((requestId) => encodeRelayedRequest(frame, requestId, context, POOLED_FRAME_BYTES), {
      reply: (reply) => {
        settle();
        if ((reply.kind & ~CONTEXT_FLAG) === ResponseKind.WriteOk) return done({ writeOk: reply });
        // Anything else is rare (a leader change, BUSY, an error): decoded into the error the service's path would throw.
        let response: Response;
        try {
          response = decodeResponse(reply);
        } catch (error) {
          done({ error: FORWARD_ERRORS.lost(`the leader (member ${leader}) sent a reply that does not decode (${(error as Error).message})`, error) });
          throw error; // the connection cannot be trusted past it: it closes (pipelined-connection.ts)
        }
        done({ error: leaderReplyError(leader, response) });
      },
      lost: (error) => {
        settle();
        done({ error });
      },
    });
    if (cancel === undefined) {
      settle();
      return undefined;
    }
    return () => {
      settle();
      cancel();
    };
  }

  close(): void {
    this.closed = true;
    const link = this.link;
    this.link = undefined;
    this.openLink = undefined;
    void link?.connection.then(({ connection }) => connection.close("this member is stopping"), () => undefined);
  }

  private async call<K extends Response["kind"]>(operation: string, givenTimeoutMs: number | undefined, scope: RequestScope, build: (requestId: number) => Request, expected: K): Promise<Extract<Response, { kind: K }>> {
    const timeoutMs = givenTimeoutMs ?? this.options.requestTimeoutMs;
    if (this.closed) throw new UnavailableError("this member is stopping: send the request to another member");
    const leader = this.target.leaderId();
    const address = this.leaderAddress(leader);
    if (this.inFlight >= this.options.forwardsInFlightMax) {
      throw new BusyError(`${this.inFlight} requests are being forwarded to the leader (forwardsInFlightMax): retry after a pause`);
    }
    this.inFlight++;
    try {
      const deadlineAt = Date.now() + timeoutMs;
      const { connection, takesTraceContext } = await this.connectionTo(leader, address, timeoutMs);
      const context = this.wireContext(operation, leader, takesTraceContext, scope);
      const reply = await connection.request(build, Math.max(1, deadlineAt - Date.now()), context);
      if (this.tracer.enabled) {
        this.tracer.receive({ kind: "reply", from: memberHost(leader), stamp: reply.stamp, requestId: context.requestId, details: reply.kind });
      }
      return expectReply(leader, expected, reply);
    } finally {
      this.inFlight--;
    }
  }

  /** The leader's binary address, or the NotLeaderError that says why there is none to forward to. */
  private leaderAddress(leader: number): string {
    if (leader === 0) throw new NotLeaderError(undefined);
    const addresses = this.target.addresses(leader);
    const address = addresses.client;
    if (address === undefined) throw new NotLeaderError({ leaderId: leader }, `member ${leader} leads but its client address is not known yet: retry shortly`);
    if (this.options.authRequired && !this.options.provesMember) {
      throw new NotLeaderError({ leaderId: leader, clientAddress: address, ...(addresses.http === undefined ? {} : { httpAddress: addresses.http }) },
        `member ${leader} is the leader, and this member cannot forward to it: with client authentication on, members forward only with member certificates (--cert-file and --peer-cert-file on every member); send the request to the leader`);
    }
    return address;
  }

  /** The request's id and trace context, this member's trace stamp, and the caller it is forwarded for (authentication on). */
  private wireContext(operation: string, leader: number, takesTraceContext: boolean, { request, caller }: RequestScope): WireRequestContext {
    const requestId = request?.requestId ?? newRequestId();
    const stamp = this.tracer.enabled ? this.tracer.send({ kind: "forward", to: memberHost(leader), requestId, details: operation }) : undefined;
    const traceparent = takesTraceContext ? request?.traceparent : undefined;
    // The usual context, a request id alone, is one small object (this runs for every forwarded write).
    if (stamp === undefined && caller === undefined && traceparent === undefined) return { requestId };
    const tracestate = traceparent === undefined ? undefined : request?.tracestate;
    return {
      requestId, ...(stamp === undefined ? {} : { stamp }),
      ...(caller === undefined ? {} : { onBehalfOf: encodeCallerText(caller) }),
      ...(traceparent === undefined ? {} : { traceparent }),
      ...(tracestate === undefined ? {} : { tracestate }),
    };
  }

  /** The connection to `leader`, opened once and shared; a new leader (or address) gets a new one. */
  private connectionTo(leader: number, address: string, timeoutMs: number): Promise<LeaderConnection> {
    const link = this.link;
    if (link !== undefined && link.leaderId === leader && link.address === address) return link.connection;
    // The old leader's connection ends: requests still on it fail retryable, and their clients retry.
    if (link !== undefined) void link.connection.then(({ connection }) => connection.close(`member ${leader} leads now`), () => undefined);
    const connection = this.open(leader, address, timeoutMs);
    const current: LeaderLink = { leaderId: leader, address, connection };
    this.link = current;
    this.openLink = undefined;
    const forget = (): void => {
      if (this.link === current) this.link = undefined;
      if (this.openLink?.link === current) this.openLink = undefined;
    };
    connection.then((open) => {
      if (this.link === current) this.openLink = { link: current, connection: open };
      open.connection.onClose(forget);
    }, forget);
    return connection;
  }

  private async open(leader: number, address: string, timeoutMs: number): Promise<LeaderConnection> {
    const connection = new PipelinedConnection(address, this.options.frameBytesMax, FORWARD_ERRORS);
    const tls = this.options.tls();
    try {
      await connection.connect(this.options.dialer ?? (tls === undefined ? FORWARD_TCP_DIALER : tlsDialer(tls, FORWARD_COALESCING)), timeoutMs);
    } catch (error) {
      throw new UnavailableError(`forwarding to the leader (member ${leader} at ${address}) failed: cannot connect (${(error as Error).message}); retry`, { cause: error });
    }
    try {
      const hello = (requestId: number): Request => ({ kind: "hello", requestId, clientName: `kvraft-member-${this.options.memberId}`, forward: false });
      const probed = await connection.request(hello, timeoutMs, { requestId: newRequestId(), traceparent: TRACE_CONTEXT_PROBE });
      // A leader from before the trace context fields refuses the probe's context, and the frame only: HELLO again without it.
      const takesTraceContext = !(probed.kind === "error" && probed.code === "INVALID_ARGUMENT");
      const reply = takesTraceContext ? probed : await connection.request(hello, timeoutMs);
      if (reply.kind === "error" && (reply.code === UNAUTHENTICATED_CODE || reply.code === PERMISSION_DENIED_CODE)) {
        // Not the caller's fault: the leader does not take this member's word (an older version during a rolling update, or a CA it does not trust).
        throw new NotLeaderError({ leaderId: leader, clientAddress: address },
          `member ${leader} leads and refused this member's forwarded requests (${reply.message}); send the request to the leader`);
      }
      const helloOk = expectReply(leader, "hello-ok", reply);
      if (helloOk.memberId !== 0 && helloOk.memberId !== leader) {
        throw new NotLeaderError(undefined, `the address member ${leader} advertised (${address}) reaches member ${helloOk.memberId}: retry once the members' addresses settle`);
      }
      connection.useServerLimits(helloOk);
      return { connection, takesTraceContext };
    } catch (error) {
      connection.close("HELLO failed");
      throw error;
    }
  }
}
