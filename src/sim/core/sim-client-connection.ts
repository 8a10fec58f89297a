import { invariant } from "../../assert/invariant.js";
import type { HelloOk, RoutedConnection } from "../../client/connection.js";
import { AttemptTimeoutError, ConnectionLostError } from "../../client/errors.js";
import type { ClientRuntime } from "../../client/runtime.js";
import type { Request, Response, WireRequestContext } from "../../protocol/index.js";
import type { RequestBuilder } from "../../protocol-link/pipelined-connection.js";
import type { NodeId } from "../../raft/types.js";

interface PendingCall {
  resolve(response: Response): void;
  reject(error: Error): void;
  cancelTimer(): void;
}

/** How a connection's requests travel: the simulated network delivers them to the member. */
export type RequestCarrier = (connection: SimClientConnection, request: Request, context: WireRequestContext | undefined) => void;

/**
 * A client library connection (client/connection.ts's RoutedConnection) over the
 * simulator's network: requests are values carried to one member process, replies
 * matched by frame id as a PipelinedConnection matches them, an attempt's timeout on
 * the client's virtual clock, and the end of the member's process seen as the end of the
 * connection. Each connection belongs to one incarnation of the member (set when its
 * HELLO is served): a request that reaches a later one finds the connection reset.
 */
export class SimClientConnection implements RoutedConnection {
  private readonly pending = new Map<number, PendingCall>();
  private readonly closeListeners: ((error: Error) => void)[] = [];
  private closedError: Error | undefined;
  private helloOk: HelloOk | undefined;
  private nextFrameId = 1;
  /** The member process that served HELLO (ReplicaMember.incarnation); undefined before. */
  incarnation: number | undefined;

  constructor(
    readonly address: string,
    /** The member this connection goes to. */
    readonly target: NodeId,
    readonly clientId: number,
    /** The client asked in HELLO for forwarding. */
    readonly forward: boolean,
    private readonly runtime: ClientRuntime,
    private readonly carry: RequestCarrier,
  ) {}

  get hello(): HelloOk {
    invariant(this.helloOk !== undefined, () => "a connection is handed out only after HELLO");
    return this.helloOk;
  }

  get memberId(): number {
    return this.helloOk?.memberId ?? 0;
  }

  get closed(): boolean {
    return this.closedError !== undefined;
  }

  /** HELLO_OK came back: the connection is open. */
  opened(hello: HelloOk): void {
    this.helloOk = hello;
  }

  request(build: RequestBuilder, timeoutMs: number, context?: WireRequestContext): Promise<Response> {
    if (this.closedError !== undefined) return Promise.reject(this.closedError);
    const frameId = this.nextFrameId++;
    return new Promise<Response>((resolve, reject) => {
      const cancelTimer = this.runtime.after(timeoutMs, () => {
        if (this.pending.delete(frameId)) reject(new AttemptTimeoutError(`no reply from ${this.address} within ${timeoutMs} ms`));
      });
      this.pending.set(frameId, { resolve, reject, cancelTimer });
      this.carry(this, build(frameId), context);
    });
  }

  /** A reply arrived (one to a call that timed out is dropped, as on a socket). */
  deliver(response: Response): void {
    const call = this.pending.get(response.requestId);
    if (call === undefined || this.closedError !== undefined) return;
    this.pending.delete(response.requestId);
    call.cancelTimer();
    call.resolve(response);
  }

  onClose(listener: (error: Error) => void): void {
    if (this.closedError !== undefined) listener(this.closedError);
    else this.closeListeners.push(listener);
  }

  close(reason: string): void {
    this.lost(`the connection to ${this.address} was closed by this side: ${reason}`);
  }

  /** The connection ended (either side): every call on it fails with ConnectionLostError. */
  lost(reason: string): void {
    if (this.closedError !== undefined) return;
    const error = new ConnectionLostError(reason);
    this.closedError = error;
    const calls = [...this.pending.values()];
    this.pending.clear();
    for (const call of calls) {
      call.cancelTimer();
      call.reject(error);
    }
    for (const listener of this.closeListeners.splice(0)) listener(error);
  }
}
