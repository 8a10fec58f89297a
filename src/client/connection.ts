import { invariant } from "../assert/invariant.js";
import {
  FrameDecoder,
  ProtocolDecodeError,
  ProtocolEncodeError,
  REQUEST_ID_MAX,
  decodeResponse,
  encodeRequest,
  type Request,
  type Response,
  type WireRequestContext,
  PROTOCOL_ERROR_CODE,
} from "../protocol/index.js";
import { newRequestId } from "../request-id.js";
import { parseAddress } from "./address.js";
import { errorFromReply } from "./call.js";
import {
  AttemptTimeoutError, AuthenticationError, ConnectionLostError, InvalidArgumentError, KvClientError, PermissionDeniedError, ProtocolError, TlsVerificationError, UnavailableError,
} from "./errors.js";
import { tcpDialer, tlsDialer, type Dialer, type Link } from "./link.js";
import type { ClientTlsOptions } from "../security/client-credentials.js";

export interface ConnectionOptions {
  readonly clientName: string;
  readonly forward: boolean;
  /** Sent in HELLO (the cluster's --auth-token-file). */
  readonly token: string | undefined;
  /** TLS on the connection (when no `dialer` is given). */
  readonly tls: ClientTlsOptions | undefined;
  readonly frameBytesMax: number;
  readonly connectTimeoutMs: number;
  readonly dialer: Dialer | undefined;
}

export type HelloOk = Extract<Response, { kind: "hello-ok" }>;
type RequestBuilder = (requestId: number) => Request;

/** Frames for one stream (a watch); `closed` is called once if the connection ends first. */
export interface StreamListener {
  frame(response: Response): void;
  closed(error: Error): void;
}

type Pending =
  | { readonly type: "call"; readonly resolve: (response: Response) => void; readonly reject: (error: Error) => void }
  | { readonly type: "stream"; readonly listener: StreamListener };

/**
 * One pipelined connection to a member: requests go out as they are made, each with its
 * own id, and replies are matched by id in whatever order they come. At most the
 * server's inFlightMax calls are outstanding (more wait here), so a busy client queues
 * on its side instead of collecting BUSY replies. When the connection ends, every
 * outstanding call fails with ConnectionLostError: the caller decides whether to retry.
 */
export class ClientConnection {
  private readonly pending = new Map<number, Pending>();
  private readonly slotWaiters: ((granted: boolean) => void)[] = [];
  private readonly closeListeners: ((error: Error) => void)[] = [];
  private callsInFlight = 0;
  private nextRequestId = 1;
  private closedError: Error | undefined;
  private helloOk: HelloOk | undefined;
  private link: Link | undefined;
  /** False against a server that predates request contexts (see open). */
  private sendsContexts = true;

  private constructor(readonly address: string, private readonly frameBytesMax: number) {}

  /**
   * Connects and exchanges HELLO; rejects with UnavailableError when either fails. The
   * HELLO carries a request context, which probes the server: a server from before
   * request contexts refuses the flagged frame (unknown request kind) and closes, and
   * the connection is made again without contexts, so a new client works with an old
   * server (its calls then carry no request id or stamp).
   */
  static async open(address: string, options: ConnectionOptions, sendContexts = true): Promise<ClientConnection> {
    const connection = new ClientConnection(address, options.frameBytesMax);
    connection.sendsContexts = sendContexts;
    const decoder = new FrameDecoder(options.frameBytesMax);
    const dialer = options.dialer ?? (options.tls === undefined ? tcpDialer : tlsDialer(options.tls));
    try {
      connection.link = await dialer(parseAddress(address), options.connectTimeoutMs, {
        data: (chunk) => connection.receive(decoder, chunk),
        closed: (error) => connection.fail(new ConnectionLostError(`the connection to ${address} closed${error === undefined ? "" : `: ${error.message}`}`, { cause: error })),
      });
    } catch (error) {
      if (error instanceof TlsVerificationError) throw new TlsVerificationError(`${address}: ${error.message}`, { cause: error.cause });
      throw new UnavailableError(`cannot connect to ${address}: ${(error as Error).message}`, { cause: error });
    }
    try {
      const token = options.token === undefined ? {} : { token: options.token };
      const probe = sendContexts ? { requestId: newRequestId() } : undefined;
      const reply = await connection.request((requestId) => ({ kind: "hello", requestId, clientName: options.clientName, forward: options.forward, ...token }), options.connectTimeoutMs, probe);
      if (probe !== undefined && refusesContexts(reply)) {
        connection.close("the server predates request contexts: connecting again without them");
        return await ClientConnection.open(address, options, false);
      }
      if (reply.kind === "error") {
        const refused = errorFromReply(reply);
        if (refused instanceof AuthenticationError) {
          throw new AuthenticationError(`${address} refused the connection: ${options.token === undefined ? `the cluster wants a token and none was given (the token option; ${reply.message})` : refused.message}`);
        }
        if (refused instanceof PermissionDeniedError) throw new PermissionDeniedError(`${address}: ${refused.message}`);
      }
      if (reply.kind !== "hello-ok") throw new ProtocolError(`${address} answered HELLO with ${describe(reply)}`);
      connection.helloOk = reply;
      return connection;
    } catch (error) {
      connection.close("HELLO failed");
      // Credentials refused: the same token fails on every member; say so now instead of retrying to the deadline.
      if (error instanceof KvClientError && !error.retryable && !(error instanceof ProtocolError)) throw error;
      throw error instanceof UnavailableError ? error : new UnavailableError(`${address}: ${(error as Error).message}`, { cause: error });
    }
  }

  get hello(): HelloOk {
    invariant(this.helloOk !== undefined, () => "a connection is handed out only after HELLO");
    return this.helloOk;
  }

  /** The member's id as its HELLO_OK said (0 before it, or from a server that does not know it). */
  get memberId(): number {
    return this.helloOk?.memberId ?? 0;
  }

  get closed(): boolean {
    return this.closedError !== undefined;
  }

  onClose(listener: (error: Error) => void): void {
    if (this.closedError !== undefined) listener(this.closedError);
    else this.closeListeners.push(listener);
  }

  /**
   * One request, one reply (whatever its kind); rejects on timeout or a lost connection.
   * `context` (the call's request id and trace stamp) goes in the request's frame.
   */
  async request(build: RequestBuilder, timeoutMs: number, context?: WireRequestContext): Promise<Response> {
    const deadline = Date.now() + timeoutMs;
    await this.slot(timeoutMs);
    return new Promise<Response>((resolve, reject) => {
      if (this.closedError !== undefined) {
        this.releaseSlot();
        return reject(this.closedError);
      }
      const requestId = this.allocateId();
      const release = (): void => {
        this.pending.delete(requestId);
        this.releaseSlot();
      };
      const timer = setTimeout(() => {
        release();
        reject(new AttemptTimeoutError(`no reply from ${this.address} within ${timeoutMs} ms`));
      }, Math.max(0, deadline - Date.now()));
      this.pending.set(requestId, {
        type: "call",
        resolve: (response) => { clearTimeout(timer); release(); resolve(response); },
        reject: (error) => { clearTimeout(timer); release(); reject(error); },
      });
      try {
        this.send(context === undefined || !this.sendsContexts ? build(requestId) : { ...build(requestId), context });
      } catch (error) {
        clearTimeout(timer);
        release();
        reject(error);
      }
    });
  }

  /** Starts a stream (a watch): every frame with its id goes to the listener. Answers the id, for CANCEL. */
  openStream(build: RequestBuilder, listener: StreamListener): number {
    if (this.closedError !== undefined) throw this.closedError;
    const requestId = this.allocateId();
    this.pending.set(requestId, { type: "stream", listener });
    this.send(build(requestId));
    return requestId;
  }

  /** Stops delivering a stream's frames and asks the server to end it (best effort). */
  closeStream(requestId: number): void {
    if (this.pending.get(requestId)?.type !== "stream") return;
    this.pending.delete(requestId);
    if (this.closedError !== undefined) return;
    // The CANCEL_OK reply has no pending entry and is dropped on arrival.
    this.send({ kind: "cancel", requestId: this.allocateId(), targetRequestId: requestId });
  }

  close(reason: string): void {
    this.fail(new ConnectionLostError(`the connection to ${this.address} was closed by the client: ${reason}`));
  }

  private send(request: Request): void {
    let bytes: Uint8Array;
    try {
      bytes = encodeRequest(request);
    } catch (error) {
      if (error instanceof ProtocolEncodeError) throw new InvalidArgumentError(error.message);
      throw error;
    }
    const limit = this.helloOk?.frameBytesMax ?? this.frameBytesMax;
    if (bytes.length > limit) throw new InvalidArgumentError(`the request needs ${bytes.length} bytes, more than the server's frame limit (${limit})`, "TOO_LARGE");
    this.link?.write(bytes);
  }

  private receive(decoder: FrameDecoder, chunk: Uint8Array): void {
    if (this.closedError !== undefined) return;
    try {
      decoder.push(chunk);
      for (let frame = decoder.next(); frame !== undefined; frame = decoder.next()) this.dispatch(decodeResponse(frame));
    } catch (error) {
      // Never thrown out of a socket handler: a bad server costs this connection, not the caller's process.
      const reason = error instanceof ProtocolDecodeError ? `sent bytes that do not decode (${error.message})` : `could not be handled (${String(error)})`;
      this.fail(new ConnectionLostError(`${this.address} ${reason}`, { cause: new ProtocolError(reason) }));
    }
  }

  private dispatch(response: Response): void {
    if (response.requestId === 0) {
      const message = response.kind === "error" || response.kind === "busy" ? response.message : describe(response);
      return this.fail(new ConnectionLostError(`${this.address} closed the connection: ${message}`));
    }
    const entry = this.pending.get(response.requestId);
    if (entry === undefined) return; // a reply to a call that timed out, or a CANCEL_OK
    if (entry.type === "call") return entry.resolve(response);
    const ends = response.kind !== "watch-events";
    if (ends) this.pending.delete(response.requestId);
    entry.listener.frame(response);
  }

  private fail(error: Error): void {
    if (this.closedError !== undefined) return;
    this.closedError = error;
    this.link?.close();
    const entries = [...this.pending.values()];
    this.pending.clear();
    for (const entry of entries) {
      if (entry.type === "call") entry.reject(error);
      else entry.listener.closed(error);
    }
    for (const wake of this.slotWaiters.splice(0)) wake(false);
    for (const listener of this.closeListeners.splice(0)) listener(error);
  }

  /** Takes one of the server's inFlightMax slots, waiting for one if need be. */
  private async slot(timeoutMs: number): Promise<void> {
    if (this.closedError !== undefined) throw this.closedError;
    const limit = this.helloOk?.inFlightMax ?? 1;
    if (this.callsInFlight < limit) {
      this.callsInFlight++;
      return;
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const granted = await new Promise<boolean | undefined>((resolve) => {
      const wake = (slotGranted: boolean): void => {
        clearTimeout(timer);
        resolve(slotGranted);
      };
      timer = setTimeout(() => {
        const index = this.slotWaiters.indexOf(wake);
        if (index >= 0) this.slotWaiters.splice(index, 1);
        resolve(undefined);
      }, timeoutMs);
      this.slotWaiters.push(wake);
    });
    if (granted === undefined) throw new AttemptTimeoutError(`${this.callsInFlight} requests were in flight to ${this.address} for ${timeoutMs} ms`);
    if (!granted) throw this.closedError ?? new ConnectionLostError(`the connection to ${this.address} closed`);
  }

  /** Hands the slot to the oldest waiter, or frees it. */
  private releaseSlot(): void {
    const next = this.slotWaiters.shift();
    if (next !== undefined) next(true);
    else this.callsInFlight--;
  }

  private allocateId(): number {
    for (;;) {
      const id = this.nextRequestId;
      this.nextRequestId = id >= REQUEST_ID_MAX ? 1 : id + 1;
      if (!this.pending.has(id)) return id;
    }
  }
}

export function describe(response: Response): string {
  switch (response.kind) {
    case "error":
      return `${response.code}: ${response.message}`;
    case "busy":
      return `BUSY: ${response.message}`;
    case "redirect":
      return `REDIRECT to member ${response.leader.leaderId}${response.leader.clientAddress === undefined ? "" : ` at ${response.leader.clientAddress}`}`;
    default:
      return response.kind;
  }
}

/** An old server's answer to a frame with the context flag: it does not know the kind. */
function refusesContexts(reply: Response): boolean {
  return reply.kind === "error" && reply.code === PROTOCOL_ERROR_CODE && reply.message.includes("unknown request kind");
}
