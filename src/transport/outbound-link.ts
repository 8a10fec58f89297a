import * as net from "node:net";
import * as tls from "node:tls";
import type { MessageType } from "../raft/messages.js";
import { reconnectDelayMs } from "./backoff.js";
import { MESSAGE_CODEC_VERSION } from "./codec.js";
import type { PeerAddress, TransportConfig } from "./config.js";
import { TransportDecodeError, TransportError, TransportProtocolError } from "./errors.js";
import type { DropReason, ErrorStage, PeerStats, TransportEvent } from "./events.js";
import { decodeHelloAck, decodeRefuse, encodeHello, FrameDecoder, FrameType, HANDSHAKE_FRAME_BYTES_MAX } from "./frames.js";
import { expectMember, serverNameFor } from "./peer-tls.js";
import { type QueuedFrame, SendQueue } from "./send-queue.js";
import { batchBuffers, KEEPALIVE_DELAY_MS, remoteAddressOf, writeBatch } from "./socket-util.js";

export interface LinkContext {
  readonly config: TransportConfig;
  emit(event: TransportEvent): void;
  /** Registers a socket so that `stop()` can close it and wait for it. */
  track(socket: net.Socket): void;
}

type LinkState = "idle" | "connecting" | "open" | "backoff" | "closed";

/**
 * The one connection this node dials to a peer, carrying this node's messages to it.
 * Connects lazily on the first message, says HELLO and sends nothing else until the peer
 * answers HELLO_ACK; redials with backoff while messages wait; writes the queue in
 * batches and waits for 'drain' when the socket's buffer is full.
 */
export class OutboundLink {
  private state: LinkState = "idle";
  private socket: net.Socket | undefined;
  private readonly queue: SendQueue;
  /** The timer of the current state: connect timeout, write stall, or backoff. */
  private timer: NodeJS.Timeout | undefined;
  private awaitingDrain = false;
  private flushScheduled = false;
  /** Failed attempts in a row, for the backoff; reset by a completed handshake. */
  private failures = 0;
  private attempts = 0;
  /** Why the current socket is being closed, reported once when it has closed. */
  private failure: { stage: ErrorStage; error: Error } | "refused" | undefined;
  private counters = { sentMessages: 0, sentBytes: 0, writes: 0, dropped: 0, reconnects: 0 };

  constructor(
    private address: PeerAddress,
    private readonly ctx: LinkContext,
  ) {
    this.queue = new SendQueue(ctx.config.queueMessagesMax, ctx.config.queueBytesMax);
  }

  send(frame: QueuedFrame): void {
    if (this.state === "closed") return;
    const { dropped } = this.queue.push(frame);
    for (const lost of dropped) this.countDrop(lost.messageType, "queue-full");
    if (this.state === "idle") this.connect();
    else if (this.state === "open") this.scheduleFlush();
  }

  /** Connects now, with nothing to send yet: so the peer learns of this member (its HELLO). */
  dial(): void {
    if (this.state === "idle") this.connect();
  }

  countDrop(messageType: MessageType, reason: DropReason): void {
    this.counters.dropped++;
    this.ctx.emit({ type: "dropped", peerId: this.address.id, messageType, reason, droppedTotal: this.counters.dropped });
  }

  /** A new address for the same member: drop the old connection and dial the new one soon. */
  setAddress(address: PeerAddress): void {
    if (address.host === this.address.host && address.port === this.address.port) return;
    this.address = address;
    this.failures = 0;
    if (this.socket !== undefined) {
      this.fail(this.socket, "socket", new TransportError(`member ${address.id} moved to ${address.host}:${address.port}`));
    } else if (this.state === "backoff") {
      this.clearTimer();
      this.state = "idle";
      if (this.queue.messages > 0) this.connect();
    }
  }

  /** For good: drops the queue and the connection, and never redials. */
  close(): void {
    this.state = "closed";
    this.clearTimer();
    this.queue.clear();
    this.socket?.destroy();
  }

  stats(): Omit<PeerStats, "inboundConnected" | "receivedMessages" | "receivedBytes"> {
    return { connected: this.state === "open", ...this.counters, queuedMessages: this.queue.messages, queuedBytes: this.queue.bytes };
  }

  private connect(): void {
    if (this.attempts++ > 0) this.counters.reconnects++;
    this.state = "connecting";
    const { host, port, id } = this.address;
    const socket = this.dialSocket();
    this.socket = socket;
    this.ctx.track(socket);
    const decoder = new FrameDecoder(HANDSHAKE_FRAME_BYTES_MAX);
    this.setTimer(this.ctx.config.connectTimeoutMs, () => this.fail(socket, "connect", new TransportError(
      `no handshake with member ${id} at ${host}:${port} within connectTimeoutMs (${this.ctx.config.connectTimeoutMs} ms)`)));
    // With TLS the HELLO waits for the server's certificate to have proven member `id`.
    socket.on(this.ctx.config.tls === undefined ? "connect" : "secureConnect", () => {
      const { selfId, clusterId } = this.ctx.config;
      socket.write(encodeHello({ protocolVersion: MESSAGE_CODEC_VERSION, clusterId, fromId: selfId, toId: id, advertise: this.ctx.config.advertise() }));
    });
    socket.on("data", (chunk: Buffer) => this.onData(socket, decoder, chunk));
    socket.on("drain", () => this.onDrain(socket));
    socket.on("error", (error) => {
      if (this.failure === undefined && socket === this.socket) {
        this.failure = { stage: this.state === "open" ? "socket" : "connect", error };
      }
    });
    socket.on("close", () => this.onClose(socket));
  }

  /** Plain TCP, or TLS with this member's certificate, requiring the server's to name member `id` of this cluster. */
  private dialSocket(): net.Socket {
    const { host, port, id } = this.address;
    const socketOptions = { host, port, noDelay: true, keepAlive: true, keepAliveInitialDelay: KEEPALIVE_DELAY_MS };
    const peerTls = this.ctx.config.tls;
    if (peerTls === undefined) return net.connect(socketOptions);
    const servername = serverNameFor(host);
    return tls.connect({
      ...socketOptions, ...peerTls.clientOptions(), ...(servername === undefined ? {} : { servername }),
      rejectUnauthorized: true, checkServerIdentity: expectMember(this.ctx.config.clusterId, id),
    });
  }

  /** The callee speaks only during the handshake: HELLO_ACK or REFUSE, then nothing. */
  private onData(socket: net.Socket, decoder: FrameDecoder, chunk: Buffer): void {
    if (socket !== this.socket) return;
    try {
      decoder.push(chunk);
      for (let frame = decoder.next(); frame !== undefined; frame = decoder.next()) {
        if (this.state !== "connecting") throw new TransportProtocolError(`member ${this.address.id} sent a frame after the handshake`);
        if (frame.type === FrameType.Refuse) {
          const refuse = decodeRefuse(frame.payload);
          this.failure = "refused";
          this.ctx.emit({ type: "refused", peerId: this.address.id, direction: "outbound", ...refuse, remoteAddress: remoteAddressOf(socket) });
          socket.destroy();
          return;
        }
        if (frame.type !== FrameType.HelloAck) throw new TransportProtocolError(`expected HELLO_ACK or REFUSE, got frame type ${frame.type}`);
        const memberId = decodeHelloAck(frame.payload);
        if (memberId !== this.address.id) {
          throw new TransportProtocolError(`${this.address.host}:${this.address.port} is member ${memberId}, not member ${this.address.id}`);
        }
        this.onOpen(socket);
      }
    } catch (error) {
      if (!(error instanceof TransportDecodeError || error instanceof TransportProtocolError)) throw error;
      this.fail(socket, this.state === "open" ? "decode" : "handshake", error);
    }
  }

  private onOpen(socket: net.Socket): void {
    this.state = "open";
    this.failures = 0;
    this.clearTimer();
    // With TLS the server's certificate has proven the member (`expectMember`).
    this.ctx.emit({ type: "connected", peerId: this.address.id, direction: "outbound", remoteAddress: remoteAddressOf(socket), authenticated: this.ctx.config.tls !== undefined });
    this.flush();
  }

  private onDrain(socket: net.Socket): void {
    if (socket !== this.socket || !this.awaitingDrain) return;
    this.awaitingDrain = false;
    this.clearTimer();
    this.flush();
  }

  private onClose(socket: net.Socket): void {
    if (socket !== this.socket) return;
    const wasOpen = this.state === "open";
    const failure = this.failure;
    this.socket = undefined;
    this.failure = undefined;
    this.awaitingDrain = false;
    this.clearTimer();
    if (this.state === "closed") return;
    // A connection that worked is redialled after the minimum wait; failed dials back off.
    this.failures = wasOpen ? 1 : this.failures + 1;
    const delayMs = reconnectDelayMs(this.failures, this.ctx.config, Math.random);
    const peerId = this.address.id;
    if (wasOpen) {
      const reason = typeof failure === "object" ? failure.error.message : "closed by the peer";
      this.ctx.emit({ type: "disconnected", peerId, direction: "outbound", reason });
    } else if (failure !== "refused") {
      // A refusal was reported when it arrived; any other failed dial is reported here.
      const stage = failure?.stage ?? "handshake";
      const error = failure?.error ?? new TransportError(`member ${peerId} closed the connection during the handshake`);
      this.ctx.emit({ type: "error", peerId, stage, error, retryDelayMs: delayMs });
    }
    this.state = "backoff";
    this.setTimer(delayMs, () => {
      this.state = "idle";
      if (this.queue.messages > 0) this.connect();
    });
  }

  /** Closes `socket` for `error`; its 'close' handler reports the error and schedules the redial. */
  private fail(socket: net.Socket, stage: ErrorStage, error: Error): void {
    if (socket !== this.socket) return;
    if (this.failure === undefined) this.failure = { stage, error };
    socket.destroy();
  }

  /** Coalesces the sends of one synchronous run (one Raft Ready) into one write. */
  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // A promise reaction rather than queueMicrotask, which Node wraps in an async resource per call.
    void Promise.resolve().then(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    const socket = this.socket;
    // A socket being destroyed has not emitted 'close' yet: keep the frames for the redial.
    if (this.state !== "open" || socket === undefined || socket.destroyed || this.awaitingDrain) return;
    while (this.queue.messages > 0) {
      const batch = this.queue.takeBatch(this.ctx.config.writeBatchBytesMax);
      const buffers = batchBuffers(batch);
      this.counters.sentMessages += batch.length;
      for (const buffer of buffers) this.counters.sentBytes += buffer.length;
      this.counters.writes++;
      if (!writeBatch(socket, buffers)) {
        // The socket holds at most this batch in memory: wait until the kernel takes it.
        this.awaitingDrain = true;
        const { writeStallTimeoutMs } = this.ctx.config;
        this.setTimer(writeStallTimeoutMs, () => this.fail(socket, "socket", new TransportError(
          `member ${this.address.id} took no bytes for writeStallTimeoutMs (${writeStallTimeoutMs} ms)`)));
        return;
      }
    }
  }

  private setTimer(delayMs: number, action: () => void): void {
    this.clearTimer();
    this.timer = setTimeout(() => {
      this.timer = undefined;
      action();
    }, delayMs);
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
