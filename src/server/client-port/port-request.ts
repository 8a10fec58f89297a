import type { Response } from "../../protocol/index.js";
import type { RequestContext, Tracer } from "../../trace/index.js";
import type { RequestObserver } from "../request-observer.js";
import type { ClientPortOptions } from "./config.js";
import type { RelayedWriteListener } from "./relayed-write.js";
import { errorReply } from "./replies.js";
import { traceReply, type RequestTrace } from "./request-trace.js";

/** What a request needs of its connection. */
export interface PortRequestOwner {
  readonly options: ClientPortOptions;
  readonly tracer: Tracer;
  /** The name the client gave in HELLO. */
  clientName(): string;
  /** Encodes and sends a reply. */
  send(response: Response): void;
  /** Sends a reply that is a frame already (the leader's answer to a relayed write). */
  sendFrame(bytes: Uint8Array): void;
  /** Runs work so that a bug drops this connection only (PortSocket.guarded). */
  guarded(work: () => void): void;
  /** The request that held a slot has settled: the slot, and its place among the writes when it is one, are given back. */
  released(request: PortRequest): void;
  readonly onInternalError: (error: unknown, requestId?: string) => void;
}

/**
 * One request on a client connection, from its start to its one reply, as an object
 * rather than a closure per step: a follower relaying writes made about a kilobyte of
 * closures per request (a sampled heap profile). It reports the reply to the port's
 * metrics and request log, and, once it holds a slot (`hold`), answers TIMEOUT when its
 * deadline passes; the slot stays taken until the work settles, so the connection's bound
 * holds even for timed-out calls.
 */
export class PortRequest implements RelayedWriteListener {
  private answered = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly started: number;
  private readonly observe: RequestObserver | undefined;
  /** A relayed write's cancel: the deadline passed, the relay is dropped. */
  cancelRelay: (() => void) | undefined;
  /** The request's number among the connection's writes (WriteBarrier); 0 for a read. */
  writeNumber = 0;

  constructor(
    private readonly owner: PortRequestOwner,
    readonly kind: string,
    readonly requestId: number,
    readonly write: boolean,
    /** The frame's request context (its id and trace context), for the request log. */
    readonly context: RequestContext | undefined,
    private readonly trace: RequestTrace | undefined,
  ) {
    this.observe = owner.options.onRequest;
    this.started = this.observe === undefined ? 0 : performance.now();
  }

  /** The request takes a slot: from now on its deadline runs and `released` follows its settling. */
  hold(writeNumber: number): void {
    this.writeNumber = writeNumber;
    this.timer = setTimeout(() => this.expire(), this.owner.options.requestTimeoutMs);
  }

  /** Sends `response` (or a reply frame), reported to the port's metrics and request log. */
  reply(response: Response | Uint8Array): void {
    const { owner } = this;
    const served = this.context === undefined ? undefined : owner.options.onServed;
    if (this.observe !== undefined || served !== undefined) {
      const result = response instanceof Uint8Array ? "ok" : response.kind === "error" ? response.code : response.kind === "busy" || response.kind === "redirect" ? response.kind : "ok";
      this.observe?.(this.kind, result, (performance.now() - this.started) / 1000);
      if (served !== undefined && this.context !== undefined) served({ request: this.context, kind: this.kind, result, clientName: owner.clientName() });
    }
    if (response instanceof Uint8Array) owner.sendFrame(response);
    else owner.send(this.trace === undefined ? response : traceReply(owner.tracer, this.trace, response));
  }

  /** The work answered: replied unless the deadline already did. Guarded: a relay calls it from the leader's connection. */
  settled(response: Response | Uint8Array): void {
    this.owner.guarded(() => {
      try {
        if (!this.answered) this.reply(response);
      } finally {
        this.finish();
      }
    });
  }

  /** The work failed: its error as a reply, unless the deadline already answered. */
  failed(error: unknown): void {
    this.owner.guarded(() => {
      try {
        if (this.answered) return;
        const mapped = errorReply(this.requestId, error);
        if (mapped.internal) this.owner.onInternalError(error, this.context?.requestId);
        this.reply(mapped.reply);
      } finally {
        this.finish();
      }
    });
  }

  private expire(): void {
    this.answered = true;
    this.cancelRelay?.();
    const { requestTimeoutMs } = this.owner.options;
    this.reply({
      kind: "error", requestId: this.requestId, code: "TIMEOUT", retryable: true,
      message: `no answer within ${requestTimeoutMs} ms (requestTimeoutMs)${this.write ? "; the write may still be applied: retry with the same session and seq" : ""}`,
    });
  }

  private finish(): void {
    this.answered = true;
    clearTimeout(this.timer);
    this.owner.released(this);
  }
}
