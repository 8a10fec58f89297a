import type { Socket } from "node:net";

export interface PortSocketHooks {
  /** Bytes from the client, while the connection reads. */
  readonly receive: (chunk: Buffer) => void;
  /** The socket handed all queued output to the kernel ('drain'). */
  readonly drained?: () => void;
  /** The client closed its side (on a half-open listener): answer what was read, then close. */
  readonly inputEnded?: () => void;
  /** The socket is gone: release what the connection holds. */
  readonly closed?: () => void;
  /** A bug while handling this connection's bytes: reported; the connection is dropped, the server goes on. */
  readonly onInternalError: (error: unknown) => void;
  /** Closes a connection that sends nothing for a while (see IdleTimeout); without it a connection may idle forever. */
  readonly idle?: IdleTimeout;
}

/**
 * A connection that sends no bytes for `timeoutMs` while not `busy` (requests running,
 * a watch streaming) is idle: `expired` runs (the protocol says goodbye and closes).
 * Idle sockets are what a connection flood is made of; a client that wants a quiet
 * connection reconnects when it needs one.
 */
export interface IdleTimeout {
  readonly timeoutMs: number;
  readonly busy: () => boolean;
  readonly expired: () => void;
}

/**
 * The socket side of one client-port connection, the part both protocols share: input
 * that can be paused (backpressure) or stopped (quit, a protocol error), replies that
 * leave in one socket write per event-loop turn, closing once the replies are flushed,
 * and a bug in the protocol's handling of these bytes dropping this connection only.
 * Every callback into the protocol runs guarded, except `closed`.
 */
export class PortSocket {
  private reading = true;
  private inputPaused = false;
  /** Corked until the end of this turn: see write(). */
  private corked = false;
  private socketClosed = false;
  private lastInputMs = Date.now();
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly socket: Socket,
    private readonly hooks: PortSocketHooks,
  ) {
    socket.on("data", (chunk: Buffer) => {
      this.lastInputMs = Date.now();
      // Once reading stopped nothing more is parsed: do not buffer what a client keeps sending.
      if (this.reading) this.guarded(() => hooks.receive(chunk));
    });
    if (hooks.idle !== undefined) this.armIdle(hooks.idle, hooks.idle.timeoutMs);
    const { drained, inputEnded } = hooks;
    if (drained !== undefined) socket.on("drain", () => this.guarded(drained));
    if (inputEnded !== undefined) socket.on("end", () => this.guarded(inputEnded));
    socket.on("close", () => {
      this.socketClosed = true;
      this.reading = false;
      if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
      hooks.closed?.();
    });
  }

  /**
   * One timer per connection, re-armed when it fires rather than on every chunk (a
   * timer per read would cost the hot path): it fires at most once per timeoutMs.
   */
  private armIdle(idle: IdleTimeout, delayMs: number): void {
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      if (this.socketClosed) return;
      const quietMs = Date.now() - this.lastInputMs;
      if (quietMs < idle.timeoutMs) return this.armIdle(idle, idle.timeoutMs - quietMs);
      if (idle.busy()) return this.armIdle(idle, idle.timeoutMs);
      this.guarded(idle.expired);
    }, delayMs);
    this.idleTimer.unref();
  }

  /** False once reading stopped (stopReading) or the socket closed. */
  get isReading(): boolean {
    return this.reading;
  }

  /** False once the socket is closed, ending or destroyed: a reply written now would be lost. */
  get isWritable(): boolean {
    return !this.socketClosed && !this.socket.writableEnded && !this.socket.destroyed;
  }

  get isDestroyed(): boolean {
    return this.socket.destroyed;
  }

  /** Reply bytes queued in the socket and not yet taken by the kernel. */
  get outputBytes(): number {
    return this.socket.writableLength;
  }

  /**
   * Runs protocol work so that a bug on one connection's bytes drops that connection
   * only, instead of throwing out of a socket event and taking the process down.
   */
  guarded(work: () => void): void {
    try {
      work();
    } catch (error) {
      this.hooks.onInternalError(error);
      this.socket.destroy();
    }
  }

  /**
   * Queues reply bytes. Replies produced in one turn (a batch of applied writes resolves
   * many) leave in one writev instead of one syscall each: the socket is corked at the
   * first and uncorked once this turn's promise callbacks have run. `written` runs once
   * the kernel has the bytes.
   */
  write(bytes: Uint8Array | string, written?: () => void): void {
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    this.socket.write(bytes, written);
  }

  /** Stops or restarts taking bytes from the socket; the kernel buffer then fills and the client slows down. */
  pauseInput(paused: boolean): void {
    if (paused === this.inputPaused) return;
    this.inputPaused = paused;
    if (paused) this.socket.pause();
    else this.socket.resume();
  }

  /** Reads nothing more: the stream cannot be trusted past this point, or the client said quit. */
  stopReading(): void {
    this.reading = false;
  }

  /** Closes fully once the queued replies are flushed, even if the client never closes its side. */
  endAfterFlush(): void {
    this.socket.end(() => this.socket.destroy());
  }

  /** Drops the connection now (server stop): replies still being computed are discarded. */
  destroy(): void {
    this.socket.destroy();
  }
}
