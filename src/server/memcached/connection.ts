import type { Socket } from "node:net";
import { PortSocket } from "../tcp-port/port-socket.js";
import { RequestParser, type ParserLimits } from "./parser.js";
import { NO_REPLY, line, serializeReply, type Reply } from "./replies.js";
import { isWriteRequest, type ParseEvent, type Request } from "./requests.js";

export interface ConnectionLimits extends ParserLimits {
  /** Requests read and not yet answered; at the limit the socket is paused. */
  readonly pendingRequestsMax: number;
  /** A connection that sends nothing for this long, with nothing pending, is closed (as memcached's idle_timeout); undefined: never. */
  readonly idleTimeoutMs?: number;
}

export interface ConnectionHooks {
  /** Answers one request; must never reject (failures are replies). */
  readonly execute: (request: Request) => Promise<Reply>;
  /** A bug while handling this connection's bytes: the connection is dropped, the server goes on. */
  readonly onInternalError: (error: unknown) => void;
}

const INTERNAL_ERROR = line("SERVER_ERROR internal error: see the server's log");

/**
 * One client connection: bytes in, requests out to `execute`, replies back in request
 * order however the service calls interleave.
 *
 * Order of execution follows memcached's per-connection order where it can be seen: a
 * write starts only after every earlier request on the connection has finished, and a
 * read only after every earlier write. Consecutive reads run concurrently (a pipelined
 * client cannot tell), so a burst of gets costs one round of service calls, not many.
 */
export class MemcachedConnection {
  private readonly port: PortSocket;
  private readonly parser: RequestParser;
  /** Requests parsed whose replies are not yet handed to the kernel. */
  private pendingRequests = 0;
  /** The client closed its side: answer what was read, then close. */
  private inputEnded = false;
  private outputEnded = false;
  /** Resolves once every reply so far is written, in order. */
  private replyTail: Promise<void> = Promise.resolve();
  /** Resolves once every request so far has been executed. */
  private allDone: Promise<void> = Promise.resolve();
  /** Resolves once every write request so far has been executed. */
  private writesDone: Promise<void> = Promise.resolve();

  constructor(
    socket: Socket,
    private readonly limits: ConnectionLimits,
    private readonly hooks: ConnectionHooks,
  ) {
    this.parser = new RequestParser(limits);
    this.port = new PortSocket(socket, {
      receive: (chunk) => {
        this.parser.push(chunk);
        this.pump();
      },
      inputEnded: () => {
        this.inputEnded = true;
        this.pump();
      },
      onInternalError: hooks.onInternalError,
      ...(limits.idleTimeoutMs === undefined ? {} : {
        idle: {
          timeoutMs: limits.idleTimeoutMs,
          busy: () => this.pendingRequests > 0,
          expired: () => {
            this.port.stopReading();
            this.pump();
          },
        },
      }),
    });
  }

  /** Drops the connection now (server stop): replies still being computed are discarded. */
  destroy(): void {
    this.port.destroy();
  }

  /** Takes requests from the parser while the pending limit allows, then pauses or closes as needed. */
  private pump(): void {
    while (this.port.isReading && this.pendingRequests < this.limits.pendingRequestsMax) {
      const event = this.parser.next();
      if (event === undefined) break;
      this.accept(event);
    }
    this.port.pauseInput(this.pendingRequests >= this.limits.pendingRequestsMax && this.port.isReading);
    if (this.pendingRequests === 0 && (!this.port.isReading || this.inputEnded) && !this.outputEnded) {
      this.outputEnded = true;
      this.port.endAfterFlush();
    }
  }

  private accept(event: ParseEvent): void {
    switch (event.kind) {
      case "protocol-error":
        this.enqueue(Promise.resolve(event.noreply ? NO_REPLY : line(event.reply)));
        if (event.close) this.port.stopReading();
        return;
      case "quit":
        // memcached closes without a reply; earlier replies are still sent first.
        this.port.stopReading();
        return;
      default:
        this.enqueue(this.schedule(event));
    }
  }

  private schedule(request: Request): Promise<Reply> {
    const isWrite = isWriteRequest(request);
    const run = (isWrite ? this.allDone : this.writesDone).then(() => this.hooks.execute(request));
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.allDone = Promise.all([this.allDone, settled]).then(() => undefined);
    // A write waited for everything before it, so its end means all earlier writes ended too.
    if (isWrite) this.writesDone = settled;
    return run;
  }

  private enqueue(reply: Promise<Reply>): void {
    this.pendingRequests++;
    this.replyTail = this.replyTail.then(async () => {
      // `execute` never rejects; should it, the chain must still go on (a rejected tail
      // would silence every later reply on this connection).
      const bytes = serializeReply(await reply.catch(() => INTERNAL_ERROR));
      if (bytes.length === 0 || this.port.isDestroyed) {
        this.replied();
        return;
      }
      // Counted as answered once the kernel has it: a client that does not read its
      // replies fills the socket buffer, and the server stops reading from it.
      this.port.write(bytes, () => this.replied());
    });
  }

  private replied(): void {
    this.pendingRequests--;
    if (!this.port.isDestroyed) this.port.guarded(() => this.pump());
  }
}
