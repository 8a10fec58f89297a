import type * as net from "node:net";
import type { Message } from "../raft/messages.js";
import type { NodeId } from "../raft/types.js";
import type { MemberIdentity } from "../security/member-identity.js";
import type { TraceStamp } from "../trace/index.js";
import { MESSAGE_CODEC_VERSION } from "./codec.js";
import type { TransportConfig } from "./config.js";
import { TransportDecodeError, TransportError, TransportProtocolError } from "./errors.js";
import type { TransportEvent } from "./events.js";
import {
  decodeHello, decodeRaftFrame, encodeHelloAck, encodeRefuse, type Frame, FrameDecoder, FrameType, HANDSHAKE_FRAME_BYTES_MAX,
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
  /**
   * A RAFT (or TRACED_RAFT, with the sender's valid `stamp`) frame of `frameBytes` from
   * `peerId` decoded to `message`: hand it to Raft. Returns why the owner refused it (it
   * was not stepped), or undefined.
   */
  deliver(peerId: NodeId, message: Message, frameBytes: number, stamp: TraceStamp | undefined): string | undefined;
  /** Whether the caller `peerId` may connect (a member, as a rule); others are refused after their HELLO. */
  admits(peerId: NodeId, authenticated: boolean): boolean;
}

/**
 * Who the caller is before its HELLO: "plain" (no TLS: the HELLO's claim is all there
 * is), the member its verified certificate names, or undefined (TLS, but the
 * certificate names no member of this cluster: a client certificate, say).
 */
export type CallerIdentity = "plain" | MemberIdentity | undefined;

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
  /** Messages the owner refused on this connection (it closes on the first). */
  private rejected = 0;

  constructor(
    private readonly socket: net.Socket,
    private readonly ctx: InboundContext,
    // Required, never defaulted: undefined (a certificate naming no member) must not read as "plain".
    private readonly identity: CallerIdentity,
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
      let stamp: TraceStamp | undefined;
      try {
        frame = this.decoder.next();
        if (frame === undefined) return;
        if (this.state === "hello") {
          this.onHello(frame);
          continue;
        }
        if (frame.type !== FrameType.Raft && frame.type !== FrameType.TracedRaft) throw new TransportProtocolError(`expected a RAFT frame, got frame type ${frame.type}`);
        ({ message, stamp } = decodeRaftFrame(frame));
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
      const refusal = this.ctx.deliver(this.peerId, message, frame.frameBytes, stamp);
      if (refusal !== undefined) {
        this.rejected++;
        this.ctx.emit({ type: "dropped", peerId: this.peerId, messageType: message.type, reason: "rejected", droppedTotal: this.rejected, detail: refusal });
        this.failure ??= new TransportProtocolError(`member ${this.peerId} sent a ${message.type} message this member refused: ${refusal}`);
        this.socket.destroy();
        return;
      }
    }
  }

  private onHello(frame: Frame): void {
    if (frame.type !== FrameType.Hello) throw new TransportProtocolError(`expected HELLO, got frame type ${frame.type}`);
    const hello = decodeHello(frame.payload);
    this.peerId = hello.fromId;
    const authenticated = this.identity !== "plain" && this.identity !== undefined;
    const refusal = checkIdentity(hello, this.identity) ?? checkHello(hello, this.ctx.config)
      ?? (this.ctx.admits(hello.fromId, authenticated) ? undefined : notAMember(hello.fromId));
    if (refusal !== undefined) {
      this.state = "refused";
      this.socket.end(encodeRefuse(refusal));
      // A member about to join says where it is before it is added: the owner may note it.
      const advertise = refusal.code === "not-a-member" ? { advertise: hello.advertise } : {};
      this.ctx.emit({ type: "refused", peerId: this.peerId, direction: "inbound", ...refusal, remoteAddress: remoteAddressOf(this.socket), authenticated, ...advertise });
      return;
    }
    this.state = "open";
    clearTimeout(this.helloTimer);
    this.helloTimer = undefined;
    this.decoder.setFrameBytesMax(this.ctx.config.frameBytesMax);
    this.socket.write(encodeHelloAck(this.ctx.config.selfId));
    this.ctx.accepted(this.peerId, this);
    this.ctx.emit({ type: "connected", peerId: this.peerId, direction: "inbound", remoteAddress: remoteAddressOf(this.socket), advertise: hello.advertise, authenticated });
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

/**
 * With TLS, the certificate is the identity: it must name a member of this cluster, and
 * the HELLO must claim that same member. The refusal never names this member's cluster
 * id, since the caller has not proven it belongs to it.
 */
export function checkIdentity(hello: Hello, identity: CallerIdentity): Refuse | undefined {
  if (identity === "plain") return undefined;
  if (identity === undefined) {
    return { code: "unauthenticated", reason: "the client certificate names no member of this cluster: the peer port takes member certificates only" };
  }
  if (hello.fromId !== identity.memberId) {
    return { code: "identity-mismatch", reason: `the HELLO claims member ${hello.fromId} but the certificate is member ${identity.memberId}'s` };
  }
  return undefined;
}

function notAMember(id: NodeId): Refuse {
  return { code: "not-a-member", reason: `member ${id} is not in this member's configuration: add it (kvraft members add) before it can send` };
}

/** Why a caller must be refused, or undefined to accept it. */
export function checkHello(hello: Hello, config: Pick<TransportConfig, "selfId" | "clusterId">): Refuse | undefined {
  if (hello.protocolVersion !== MESSAGE_CODEC_VERSION) {
    return { code: "unsupported-version", reason: `protocol version ${hello.protocolVersion} is not supported (this member speaks ${MESSAGE_CODEC_VERSION})` };
  }
  if (hello.clusterId !== config.clusterId) {
    // This member's own cluster id is not told: a stranger who does not know it learns nothing here.
    return { code: "cluster-mismatch", reason: `cluster id ${JSON.stringify(hello.clusterId)} is not this member's cluster` };
  }
  if (hello.fromId < 1 || hello.fromId === config.selfId) {
    return { code: "invalid-member", reason: `member id ${hello.fromId} is not a valid peer id (this member is ${config.selfId})` };
  }
  if (hello.toId !== config.selfId) {
    return { code: "wrong-member", reason: `this is member ${config.selfId}, not member ${hello.toId}: the caller's address for member ${hello.toId} is wrong` };
  }
  return undefined;
}
