import type * as net from "node:net";
import type { Message } from "../raft/messages.js";
import type { NodeId } from "../raft/types.js";
import { decodeMessage, MESSAGE_CODEC_VERSION } from "./codec.js";
import type { TransportConfig } from "./config.js";
import { TransportDecodeError, TransportError, TransportProtocolError } from "./errors.js";
import type { TransportEvent } from "./events.js";
import {
  decodeHello, encodeHelloAck, encodeRefuse, type Frame, FrameDecoder, FrameType, HANDSHAKE_FRAME_BYTES_MAX,
  type Hello, type Refuse,
} from "./frames.js";
import { KEEPALIVE_DELAY_MS, remoteAddressOf } from "./socket-util.js";

export interface InboundContext {
  readonly config: TransportConfig;
  emit(event: TransportEvent): void;
  /** The handshake of `connection` with member `peerId` succeeded. */
  accepted(peerId: NodeId, connection: InboundConnection): void;
  /** `connection` has closed (whether or not its handshake succeeded). */
  closed(connection: InboundConnection): void;
  /** A RAFT frame of `frameBytes` from `peerId` decoded to `message`: hand it to Raft. */
  deliver(peerId: NodeId, message: Message, frameBytes: number): void;
}

type InboundState = "hello" | "open" | "refused" | "closed";

/**
 * A connection a peer dialled to send its messages to this node. It only receives: the
 * first frame must be HELLO, answered by HELLO_ACK or REFUSE; after that only RAFT
 * frames, each carrying a message from that peer to this node. Until the handshake the
 * frame limit is tiny, so a stranger cannot make this node buffer a large frame.
 */
export class InboundConnection {
  private state: InboundState = "hello";
  /** The member id the caller announced (0 until its HELLO arrived). */
  peerId: NodeId = 0;
  private readonly decoder = new FrameDecoder(HANDSHAKE_FRAME_BYTES_MAX);
  /** Closes a caller that says no HELLO, or that stays connected after a refusal. */
  private helloTimer: NodeJS.Timeout | undefined;
  private failure: Error | undefined;

  constructor(
    private readonly socket: net.Socket,
    private readonly ctx: InboundContext,
  ) {
    socket.setNoDelay(true);
    socket.setKeepAlive(true, KEEPALIVE_DELAY_MS);
    const { connectTimeoutMs } = ctx.config;
    this.helloTimer = setTimeout(() => {
      this.helloTimer = undefined;
      if (this.state === "hello") this.fail("handshake", new TransportError(`no HELLO from ${remoteAddressOf(socket)} within connectTimeoutMs (${connectTimeoutMs} ms)`));
      else socket.destroy();
    }, connectTimeoutMs);
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("error", (error) => {
      this.failure ??= error;
    });
    socket.on("close", () => this.onClose());
  }

  get isOpen(): boolean {
    return this.state === "open";
  }

  destroy(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    // After a refusal nothing the caller sends matters; buffering it would only cost memory.
    if (this.state !== "hello" && this.state !== "open") return;
    this.decoder.push(chunk);
    while (this.state === "hello" || this.state === "open") {
      let frame: Frame | undefined;
      let message: Message;
      try {
        frame = this.decoder.next();
        if (frame === undefined) return;
        if (this.state === "hello") {
          this.onHello(frame);
          continue;
        }
        if (frame.type !== FrameType.Raft) throw new TransportProtocolError(`expected a RAFT frame, got frame type ${frame.type}`);
        message = decodeMessage(frame.payload);
        if (message.from !== this.peerId || message.to !== this.ctx.config.selfId) {
          throw new TransportProtocolError(`a message from ${message.from} to ${message.to} on the connection from member ${this.peerId}`);
        }
      } catch (error) {
        if (!(error instanceof TransportDecodeError || error instanceof TransportProtocolError)) throw error;
        this.fail(this.state === "hello" ? "handshake" : "decode", error);
        return;
      }
      // Outside the try: an exception from the Raft side is not the peer's fault and must
      // not be mistaken for bad bytes (an invariant violation should stop the process).
      this.ctx.deliver(this.peerId, message, frame.frameBytes);
    }
  }

  private onHello(frame: Frame): void {
    if (frame.type !== FrameType.Hello) throw new TransportProtocolError(`expected HELLO, got frame type ${frame.type}`);
    const hello = decodeHello(frame.payload);
    this.peerId = hello.fromId;
    const refusal = checkHello(hello, this.ctx.config);
    if (refusal !== undefined) {
      this.state = "refused";
      this.socket.end(encodeRefuse(refusal));
      this.ctx.emit({ type: "refused", peerId: this.peerId, direction: "inbound", ...refusal, remoteAddress: remoteAddressOf(this.socket) });
      return;
    }
    this.state = "open";
    clearTimeout(this.helloTimer);
    this.helloTimer = undefined;
    this.decoder.setFrameBytesMax(this.ctx.config.frameBytesMax);
    this.socket.write(encodeHelloAck(this.ctx.config.selfId));
    this.ctx.accepted(this.peerId, this);
    this.ctx.emit({ type: "connected", peerId: this.peerId, direction: "inbound", remoteAddress: remoteAddressOf(this.socket), advertise: hello.advertise });
  }

  private fail(stage: "handshake" | "decode", error: Error): void {
    this.ctx.emit({ type: "error", peerId: this.peerId, stage, error });
    this.failure ??= error;
    this.socket.destroy();
  }

  private onClose(): void {
    const wasOpen = this.state === "open";
    this.state = "closed";
    clearTimeout(this.helloTimer);
    this.helloTimer = undefined;
    this.ctx.closed(this);
    if (wasOpen) {
      const reason = this.failure?.message ?? "closed by the peer";
      this.ctx.emit({ type: "disconnected", peerId: this.peerId, direction: "inbound", reason });
    }
  }
}

/** Why a caller must be refused, or undefined to accept it. */
export function checkHello(hello: Hello, config: Pick<TransportConfig, "selfId" | "clusterId">): Refuse | undefined {
  if (hello.protocolVersion !== MESSAGE_CODEC_VERSION) {
    return { code: "unsupported-version", reason: `protocol version ${hello.protocolVersion} is not supported (this member speaks ${MESSAGE_CODEC_VERSION})` };
  }
  if (hello.clusterId !== config.clusterId) {
    return { code: "cluster-mismatch", reason: `cluster id ${JSON.stringify(hello.clusterId)} is not this member's cluster ${JSON.stringify(config.clusterId)}` };
  }
  if (hello.fromId < 1 || hello.fromId === config.selfId) {
    return { code: "invalid-member", reason: `member id ${hello.fromId} is not a valid peer id (this member is ${config.selfId})` };
  }
  if (hello.toId !== config.selfId) {
    return { code: "wrong-member", reason: `this is member ${config.selfId}, not member ${hello.toId}: the caller's address for member ${hello.toId} is wrong` };
  }
  return undefined;
}
