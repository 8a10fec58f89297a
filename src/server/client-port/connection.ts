import type { Socket } from "node:net";
import {
  CONTEXT_FLAG,
  FrameDecoder,
  PROTOCOL_ERROR_CODE,
  RequestKind,
  ProtocolDecodeError,
  RequestContextError,
  TOO_LARGE_CODE,
  decodeRequest,
  encodeResponse,
  type Frame,
  type Request,
  type Response,
} from "../../protocol/index.js";
import type { ClientAuth } from "../auth/client-auth.js";
import type { MemberVerifier } from "../auth/member-credential.js";
import type { KvService } from "../kv-service.js";
import { ConnectionAuthGate } from "./auth-gate.js";
import { PortSocket } from "../tcp-port/port-socket.js";
import type { ClientPortOptions } from "./config.js";
import { executeRequest, helloReply, isWrite, redirectBeforeService, type HandlerContext, type ServiceRequest } from "./handlers.js";
import { newRequestId } from "../../request-id.js";
import { NO_TRACE, REQUEST_ID_CHARS_MAX, TRACEPARENT_CHARS_MAX, TRACESTATE_CHARS_MAX, requestContextOf, type Tracer } from "../../trace/index.js";
import { relayWrite } from "./relayed-write.js";
import type { WriteRelay } from "../forwarding.js";
import { traceRequest } from "./request-trace.js";
import { PortRequest, type PortRequestOwner } from "./port-request.js";
import { WatchStream } from "./watch-stream.js";
import { WriteBarrier } from "./write-barrier.js";

export interface ConnectionHooks {
  readonly service: KvService;
  readonly options: ClientPortOptions;
  readonly onProtocolError: (message: string) => void;
  /** Client authentication (tokens in HELLO, client certificates); without it the port is open. */
  readonly auth?: ClientAuth;
  /** Recognises a forwarding member by its member certificate (auth-gate.ts). */
  readonly members?: MemberVerifier;
  /** A failure no error class explains: answered INTERNAL, reported (with the request's id when it sent one), the connection goes on. */
  readonly onInternalError: (error: unknown, requestId?: string) => void;
}

/**
 * One client connection: frames in, requests to the service, replies out by request id
 * as they complete.
 *
 * Order: requests start in arrival order, so writes are proposed in the order they were
 * sent (and run concurrently, which lets Raft batch them). A read starts once every
 * write before it on the connection has finished, so a pipelining client reads its own
 * writes; reads run concurrently with each other.
 *
 * Limits: at most inFlightPerConnectionMax requests run at once, one more is answered
 * BUSY at once; when more than outputBufferBytesMax of replies wait in the socket, the
 * connection stops reading until they drain. Garbage (a frame that does not decode, a
 * request before HELLO) is answered PROTOCOL_ERROR and the connection is closed.
 */
export class ClientPortConnection {
  private readonly port: PortSocket;
  private readonly decoder: FrameDecoder;
  private context: HandlerContext | undefined;
  private inFlight = 0;
  private readonly watches = new Map<number, WatchStream>();
  /** Reads wait here for the writes sent before them. */
  private readonly writes = new WriteBarrier();
  /** True while more than outputBufferBytesMax of replies wait in the socket: input is paused. */
  private outputBlocked = false;
  private writableWaiters: (() => void)[] = [];
  private readonly authGate: ConnectionAuthGate | undefined;
  /** Closes the connection if HELLO has not come by handshakeTimeoutMs. */
  private handshakeTimer: NodeJS.Timeout | undefined;
  private readonly tracer: Tracer;
  /** What each request (port-request.ts) needs of this connection. */
  private readonly requestOwner: PortRequestOwner;

  constructor(
    socket: Socket,
    private readonly hooks: ConnectionHooks,
  ) {
    this.decoder = new FrameDecoder(hooks.options.frameBytesMax);
    this.tracer = hooks.options.tracer ?? NO_TRACE;
    this.authGate = hooks.auth === undefined ? undefined : new ConnectionAuthGate(hooks.auth, socket, hooks.members);
    const { handshakeTimeoutMs, idleTimeoutMs } = hooks.options;
    this.port = new PortSocket(socket, {
      receive: (chunk) => {
        this.decoder.push(chunk);
        this.pump();
        this.checkHandshakeBytes();
      },
      drained: () => this.unblock(),
      closed: () => this.onClose(),
      onInternalError: hooks.onInternalError,
      idle: {
        timeoutMs: idleTimeoutMs,
        busy: () => this.inFlight > 0 || this.watches.size > 0,
        expired: () => this.close(`no request for ${idleTimeoutMs} ms (idleTimeoutMs): closing the idle connection; reconnect when needed`),
      },
    });
    this.handshakeTimer = setTimeout(() => {
      this.handshakeTimer = undefined;
      this.port.guarded(() => this.protocolFailure(new ProtocolDecodeError("connection", 0, `no HELLO within ${handshakeTimeoutMs} ms (handshakeTimeoutMs)`)));
    }, handshakeTimeoutMs);
    this.handshakeTimer.unref();
    this.requestOwner = {
      options: hooks.options,
      tracer: this.tracer,
      clientName: () => this.context?.clientName ?? "",
      send: (response) => this.send(response),
      sendFrame: (bytes) => this.sendFrame(bytes),
      guarded: (work) => this.port.guarded(work),
      released: (request) => {
        this.inFlight--;
        if (request.write) this.writes.writeFinished(request.writeNumber);
      },
      onInternalError: hooks.onInternalError,
    };
  }

  /**
   * Before HELLO a client gets handshakeBytesMax of buffer, not a whole frame's worth:
   * a frame announced larger than that (or bytes piling up behind it) is refused as
   * soon as they arrive, instead of being buffered up to frameBytesMax.
   */
  private checkHandshakeBytes(): void {
    if (this.context !== undefined || !this.port.isReading) return;
    const buffered = this.decoder.bufferedBytes;
    const { handshakeBytesMax } = this.hooks.options;
    if (buffered > handshakeBytesMax) {
      this.protocolFailure(new ProtocolDecodeError("connection", 0, `${buffered} bytes arrived before HELLO, more than handshakeBytesMax (${handshakeBytesMax}): the first frame must be a HELLO`));
    }
  }

  destroy(): void {
    this.port.destroy();
  }

  /** True while the connection does not read because its replies are not being read. */
  get readingPaused(): boolean {
    return this.outputBlocked;
  }

  private pump(): void {
    while (this.port.isReading && !this.outputBlocked) {
      let frame: Frame | undefined;
      try {
        frame = this.decoder.next();
      } catch (error) {
        if (error instanceof ProtocolDecodeError) return this.protocolFailure(error);
        throw error;
      }
      if (frame === undefined) return;
      this.handle(frame);
    }
  }

  private handle(frame: Frame): void {
    let request: Request;
    // A write the relay may take is only checked here and sent on as its frame: its key and value need no copies.
    const relayable = this.mayRelay(frame);
    try {
      request = decodeRequest(frame, relayable ? "views" : "copies");
    } catch (error) {
      // A bad request context spoils one request, not the stream: the frame was whole.
      if (error instanceof RequestContextError) return this.refuseContext(error);
      if (error instanceof ProtocolDecodeError) return this.protocolFailure(error);
      throw error;
    }
    if (this.context === undefined && request.kind !== "hello") {
      return this.protocolFailure(new ProtocolDecodeError("connection", 0, `${request.kind} before HELLO: the first frame must be HELLO`, request.requestId));
    }
    const denied = this.context === undefined ? undefined : this.authGate?.deny(request);
    if (denied !== undefined) return this.send(denied);
    switch (request.kind) {
      case "hello":
        return this.hello(request);
      case "cancel":
        this.watches.get(request.targetRequestId)?.cancel();
        return this.send({ kind: "cancel-ok", requestId: request.requestId });
      case "watch":
        return this.watch(request);
      default:
        return this.start(request, frame, relayable);
    }
  }

  private hello(request: Extract<Request, { kind: "hello" }>): void {
    if (this.context !== undefined) return this.protocolFailure(new ProtocolDecodeError("connection", 0, "a second HELLO", request.requestId));
    const refusal = this.authGate?.hello(request.token);
    if (refusal !== undefined) {
      // Nothing is served on this connection: say why (a typed error the client library turns into its class), then close.
      this.send({ kind: "error", requestId: request.requestId, code: refusal.code, message: `${refusal.message}: closing the connection`, retryable: false });
      this.port.stopReading();
      this.port.endAfterFlush();
      return;
    }
    const { options } = this.hooks;
    if (this.handshakeTimer !== undefined) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = undefined;
    this.context = { service: this.hooks.service, options, forward: request.forward && options.forwardWhenAsked, clientName: request.clientName };
    this.send(helloReply(options, request.requestId));
  }

  private watch(request: Extract<Request, { kind: "watch" }>): void {
    const { requestId } = request;
    if (this.watches.has(requestId)) {
      return this.send({ kind: "error", requestId, code: "INVALID_ARGUMENT", message: `request id ${requestId} already names an open watch`, retryable: false });
    }
    if (this.watches.size >= this.hooks.options.watchesPerConnectionMax) {
      return this.send({ kind: "busy", requestId, message: `${this.watches.size} watches are open on this connection (watchesPerConnectionMax): cancel one or open another connection` });
    }
    const stream = new WatchStream(this.hooks.service, request, {
      send: (response) => this.send(response),
      writable: () => this.writable(),
      internalError: (error) => this.hooks.onInternalError(error),
    }, this.hooks.options.frameBytesMax, () => this.watches.delete(requestId));
    this.watches.set(requestId, stream);
    stream.start();
  }

  private refuseContext(error: RequestContextError): void {
    this.send({
      kind: "error", requestId: error.requestId ?? 0, code: "INVALID_ARGUMENT", retryable: false,
      message: `${error.reason}: a request id is 1..${REQUEST_ID_CHARS_MAX} printable ASCII characters without spaces, a trace stamp what kvraft's tracer writes, a traceparent 1..${TRACEPARENT_CHARS_MAX} and a tracestate 1..${TRACESTATE_CHARS_MAX} characters (only with a traceparent); the request was not run`,
    });
  }

  /**
   * True when a write in `frame` may go to the leader as its frame (the relay, on a
   * follower, for a client that asked to be forwarded). Not while tracing: a traced reply
   * gets this port's stamp (traceReply), which a relayed frame would go out without.
   */
  private mayRelay(frame: Frame): boolean {
    return (frame.kind & ~CONTEXT_FLAG) === RequestKind.Write && this.context?.forward === true && this.hooks.options.relay !== undefined && !this.tracer.enabled;
  }

  /**
   * `frame` is the request's frame, valid until this returns: a write a follower relays to
   * the leader is sent from it. Such a write (`relayable`, mayRelay) was decoded with views
   * of the frame; when the relay cannot take it, it is decoded again, with copies, for the
   * service's path.
   */
  private start(decoded: ServiceRequest, frame: Frame, relayable: boolean): void {
    const context = this.context as HandlerContext;
    // The frame's trace context is taken as the HTTP API takes its headers: a bad traceparent or tracestate is dropped, not refused.
    const requestContext = decoded.context === undefined ? undefined : requestContextOf(decoded.context, newRequestId);
    const write = isWrite(decoded);
    const request = new PortRequest(this.requestOwner, decoded.kind, decoded.requestId, write, requestContext, traceRequest(this.tracer, decoded));
    if (this.inFlight >= this.hooks.options.inFlightPerConnectionMax) {
      return request.reply({ kind: "busy", requestId: decoded.requestId, message: `${this.inFlight} requests are in flight on this connection (inFlightPerConnectionMax): wait for replies before sending more` });
    }
    const redirect = redirectBeforeService(context, decoded);
    if (redirect !== undefined) return request.reply(redirect);
    this.inFlight++;
    request.hold(write ? this.writes.writeStarted() : 0);
    let serviceRequest = decoded;
    if (relayable) {
      const relay = this.hooks.options.relay as WriteRelay;
      request.cancelRelay = relayWrite(relay, decoded.requestId, frame, { request: requestContext, caller: this.authGate?.runsAs(decoded) }, request);
      if (request.cancelRelay !== undefined) return;
      serviceRequest = decodeRequest(frame) as ServiceRequest;
    }
    // A read waits only when a write before it is still running, so pipelined reads start at once.
    // The caller and the request's context go with the service call, for a follower that forwards it to the leader.
    const scope = { request: requestContext, caller: this.authGate?.runsAs(serviceRequest) };
    const run = (): Promise<Response> => executeRequest(context, serviceRequest, scope);
    const writesBefore = write ? undefined : this.writes.beforeRead();
    void (writesBefore === undefined ? run() : writesBefore.then(run)).then((response) => request.settled(response), (error: unknown) => request.failed(error));
  }

  private send(response: Response): void {
    if (!this.port.isWritable) return;
    let bytes = encodeResponse(response);
    if (bytes.length > this.hooks.options.frameBytesMax) {
      bytes = encodeResponse({
        kind: "error", requestId: response.requestId, code: TOO_LARGE_CODE, retryable: false,
        message: `the reply needs ${bytes.length} bytes, more than one frame holds (${this.hooks.options.frameBytesMax}): ask for less at a time`,
      });
    }
    this.sendFrame(bytes);
  }

  /** A reply frame, encoded and within frameBytesMax, out to the client; input pauses while too many wait. */
  private sendFrame(bytes: Uint8Array): void {
    if (!this.port.isWritable) return;
    this.port.write(bytes);
    if (!this.outputBlocked && this.port.outputBytes > this.hooks.options.outputBufferBytesMax) {
      this.outputBlocked = true;
      this.port.pauseInput(true);
    }
  }

  private unblock(): void {
    if (!this.outputBlocked) return;
    this.outputBlocked = false;
    if (this.port.isReading) this.port.pauseInput(false);
    this.wakeWriters();
    this.pump();
  }

  /** Resolves when replies may be queued again (or the connection is gone). */
  private writable(): Promise<void> {
    if (!this.outputBlocked || !this.port.isWritable) return Promise.resolve();
    return new Promise((resolve) => this.writableWaiters.push(resolve));
  }

  private wakeWriters(): void {
    const waiters = this.writableWaiters;
    this.writableWaiters = [];
    for (const wake of waiters) wake();
  }

  /** The stream cannot be trusted past this point: say why, then close once the reply is flushed. */
  private protocolFailure(error: ProtocolDecodeError): void {
    this.hooks.onProtocolError(error.message);
    this.send({ kind: "error", requestId: error.requestId ?? 0, code: PROTOCOL_ERROR_CODE, message: `${error.message}: closing the connection`, retryable: false });
    this.stopAndEnd();
  }

  /** A limit ends the connection (not the client's fault): says why, retryable, then closes. */
  private close(message: string): void {
    this.send({ kind: "error", requestId: 0, code: PROTOCOL_ERROR_CODE, message, retryable: true });
    this.stopAndEnd();
  }

  private stopAndEnd(): void {
    this.port.stopReading();
    for (const stream of this.watches.values()) stream.close();
    this.port.endAfterFlush();
  }

  private onClose(): void {
    if (this.handshakeTimer !== undefined) clearTimeout(this.handshakeTimer);
    for (const stream of [...this.watches.values()]) stream.close();
    this.wakeWriters();
  }
}
