import {
  FrameDecoder,
  ProtocolDecodeError,
  ProtocolEncodeError,
  REQUEST_ID_MAX,
  decodeResponse,
  encodeRequest,
  type Frame,
  type Request,
  type Response,
  type WireRequestContext,
} from "../protocol/index.js";
import { parseAddress } from "./address.js";
import type { Dialer, Link } from "./dialer.js";

/**
 * How a connection's failures are spelled. The client library and a member forwarding
 * to its leader each hand their callers their own error classes (the client's carry
 * `retryable` for its retry loop, the server's map to reply codes), so the connection
 * asks for them instead of inventing a third vocabulary.
 */
export interface PipelineErrors {
  /** The connection ended (closed, broken, a reply that does not decode): every call on it fails with this. */
  lost(message: string, cause?: unknown): Error;
  /** No reply, or no free slot, within the call's time. */
  timedOut(message: string): Error;
  /** The request cannot be sent: the codec refuses a value (code undefined), or its frame is over the server's limit. */
  invalid(message: string, code?: "TOO_LARGE"): Error;
}

/** What the server's HELLO_OK said about its limits. */
export interface ServerLimits {
  readonly frameBytesMax: number;
  readonly inFlightMax: number;
}

export type RequestBuilder = (requestId: number) => Request;

/** Frames for one stream (a watch); `closed` is called once if the connection ends first. */
export interface StreamListener {
  frame(response: Response): void;
  closed(error: Error): void;
}

/** Where a relayed request's answer goes: its reply frame as it came, or the error that ended the connection first. */
export interface RelayListener {
  /** The reply, undecoded: it views the connection's buffer, so use it before returning. */
  reply(frame: Frame): void;
  lost(error: Error): void;
}

type Pending =
  | { readonly type: "call"; readonly resolve: (response: Response) => void; readonly reject: (error: Error) => void }
  | { readonly type: "stream"; readonly listener: StreamListener }
  | { readonly type: "relay"; readonly listener: RelayListener };

/**
 * One pipelined connection to a member's client-protocol port: requests go out as they
 * are made, each with its own id, and replies are matched by id in whatever order they
 * come. At most the server's inFlightMax calls are outstanding (more wait here), so a
 * busy caller queues on its side instead of collecting BUSY replies. When the connection
 * ends, every outstanding call fails with the `lost` error: the caller decides whether
 * to retry. The HELLO is the owner's (the client library's and the forwarding member's
 * differ); `useServerLimits` takes its answer.
 */
export class PipelinedConnection {
  private readonly pending = new Map<number, Pending>();
  private readonly slotWaiters: ((granted: boolean) => void)[] = [];
  private readonly closeListeners: ((error: Error) => void)[] = [];
  private callsInFlight = 0;
  private nextRequestId = 1;
  private closedError: Error | undefined;
  private serverLimits: ServerLimits | undefined;
  private link: Link | undefined;
  /** False against a server that predates request contexts: calls then go without them. */
  protected sendsContexts = true;

  constructor(
    readonly address: string,
    private readonly frameBytesMax: number,
    private readonly errors: PipelineErrors,
  ) {}

  /** Dials the address; rejects with what the dialer rejects (the owner words it). */
  async connect(dialer: Dialer, connectTimeoutMs: number): Promise<void> {
    const decoder = new FrameDecoder(this.frameBytesMax);
    this.link = await dialer(parseAddress(this.address), connectTimeoutMs, {
      data: (chunk) => this.receive(decoder, chunk),
      closed: (error) => this.fail(this.errors.lost(`the connection to ${this.address} closed${error === undefined ? "" : `: ${error.message}`}`, error)),
    });
  }

  /** The server's frame and in-flight limits, from its HELLO_OK: until then one call at a time. */
  useServerLimits(limits: ServerLimits): void {
    this.serverLimits = limits;
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
        reject(this.errors.timedOut(`no reply from ${this.address} within ${timeoutMs} ms`));
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

  /**
   * Sends a request frame built elsewhere (a follower relaying a client's frame,
   * encodeRelayedRequest) and hands its reply frame to `listener` undecoded. Only when it
   * can go at once: undefined when the connection is closed, no slot is free, or the
   * frame cannot be built or is over the server's limit; the caller then takes the
   * `request` path, which waits for a slot and says what is wrong. No timer of its own:
   * the caller's deadline calls the answered cancel, which frees the slot (a reply
   * after it is dropped).
   */
  relay(build: (requestId: number) => Uint8Array, listener: RelayListener): (() => void) | undefined {
    if (this.closedError !== undefined || this.callsInFlight >= (this.serverLimits?.inFlightMax ?? 1)) return undefined;
    const requestId = this.allocateId();
    let bytes: Uint8Array;
    try {
      bytes = build(requestId);
    } catch (error) {
      if (error instanceof ProtocolEncodeError) return undefined;
      throw error;
    }
    if (bytes.length > (this.serverLimits?.frameBytesMax ?? this.frameBytesMax)) return undefined;
    const entry: Pending = { type: "relay", listener };
    this.callsInFlight++;
    this.pending.set(requestId, entry);
    this.link?.write(bytes);
    return () => {
      if (this.pending.get(requestId) !== entry) return;
      this.pending.delete(requestId);
      this.releaseSlot();
    };
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
    this.fail(this.errors.lost(`the connection to ${this.address} was closed by this side: ${reason}`));
  }

  private send(request: Request): void {
    let bytes: Uint8Array;
    try {
      bytes = encodeRequest(request);
    } catch (error) {
      if (error instanceof ProtocolEncodeError) throw this.errors.invalid(error.message);
      throw error;
    }
    const limit = this.serverLimits?.frameBytesMax ?? this.frameBytesMax;
    if (bytes.length > limit) throw this.errors.invalid(`the request needs ${bytes.length} bytes, more than the server's frame limit (${limit})`, "TOO_LARGE");
    this.link?.write(bytes);
  }

  private receive(decoder: FrameDecoder, chunk: Uint8Array): void {
    if (this.closedError !== undefined) return;
    try {
      decoder.push(chunk);
      for (let frame = decoder.next(); frame !== undefined; frame = decoder.next()) {
        const entry = this.pending.get(frame.requestId);
        if (entry?.type !== "relay") {
          this.dispatch(decodeResponse(frame), entry);
          continue;
        }
        this.pending.delete(frame.requestId);
        this.releaseSlot();
        entry.listener.reply(frame);
      }
    } catch (error) {
      // Never thrown out of a socket handler: a bad server costs this connection, not the caller's process.
      const reason = error instanceof ProtocolDecodeError ? `sent bytes that do not decode (${error.message})` : `could not be handled (${String(error)})`;
      this.fail(this.errors.lost(`${this.address} ${reason}`, error));
    }
  }

  /** `entry` is what waits for the response's id: a call or a stream (relays take their frames undecoded, in receive). */
  private dispatch(response: Response, entry: Exclude<Pending, { type: "relay" }> | undefined): void {
    if (response.requestId === 0) {
      const message = response.kind === "error" || response.kind === "busy" ? response.message : describeResponse(response);
      return this.fail(this.errors.lost(`${this.address} closed the connection: ${message}`));
    }
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
      else if (entry.type === "relay") entry.listener.lost(error);
      else entry.listener.closed(error);
    }
    for (const wake of this.slotWaiters.splice(0)) wake(false);
    for (const listener of this.closeListeners.splice(0)) listener(error);
  }

  /** Takes one of the server's inFlightMax slots, waiting for one if need be. */
  private async slot(timeoutMs: number): Promise<void> {
    if (this.closedError !== undefined) throw this.closedError;
    const limit = this.serverLimits?.inFlightMax ?? 1;
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
    if (granted === undefined) throw this.errors.timedOut(`${this.callsInFlight} requests were in flight to ${this.address} for ${timeoutMs} ms`);
    if (!granted) throw this.closedError ?? this.errors.lost(`the connection to ${this.address} closed`);
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

/** A reply in words, for messages about an answer the caller did not expect. */
export function describeResponse(response: Response): string {
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
