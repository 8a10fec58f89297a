import * as net from "node:net";
import type { Message } from "../raft/messages.js";
import type { NodeId } from "../raft/types.js";
import { type PeerAddress, type TransportConfig, type TransportOptions, validatePeers, validateTransportConfig } from "./config.js";
import { TransportError, TransportListenError, TransportStateError } from "./errors.js";
import { type PeerStats, type TransportEvent, ZERO_PEER_STATS } from "./events.js";
import { encodeRaftFrame } from "./frames.js";
import { InboundConnection, type InboundContext } from "./inbound-connection.js";
import { type LinkContext, OutboundLink } from "./outbound-link.js";
import { KEEPALIVE_DELAY_MS, SocketTracker } from "./socket-util.js";

export interface TransportHandlers {
  /**
   * A message from a peer to this node. Called synchronously from socket IO; an
   * exception thrown here is not caught (a broken Raft invariant should stop the process).
   */
  onMessage(message: Message): void;
  /** Connection changes, refusals, drops and errors: for the server to log and count. */
  onEvent?(event: TransportEvent): void;
}

type TransportState = "new" | "starting" | "running" | "stopping" | "stopped";

/**
 * Raft's peer transport over TCP. Each node dials one connection to each peer and sends
 * its messages over it; the connections peers dial to it only receive. So each ordered
 * pair of members has exactly one connection, and no tie-breaking between two
 * simultaneous dials is ever needed.
 *
 * `send` never blocks and never throws for a peer that is down: it queues the message
 * for the peer (bounded, see `send-queue.ts`), dials lazily, and drops past the limits.
 */
export class TcpTransport {
  private readonly config: TransportConfig;
  private peers: Map<NodeId, PeerAddress>;
  private readonly links = new Map<NodeId, OutboundLink>();
  /** The newest accepted inbound connection of each member. */
  private readonly inboundByPeer = new Map<NodeId, InboundConnection>();
  private readonly received = new Map<NodeId, { messages: number; bytes: number }>();
  private readonly sockets = new SocketTracker();
  private server: net.Server | undefined;
  private state: TransportState = "new";
  /** Settles when the listen attempt of `start()` does: `stop()` waits for it. */
  private listening: Promise<unknown> = Promise.resolve();
  private unknownPeerDrops = 0;
  private readonly linkContext: LinkContext;
  private readonly inboundContext: InboundContext;

  constructor(
    options: TransportOptions,
    private readonly handlers: TransportHandlers,
  ) {
    this.config = validateTransportConfig(options);
    this.peers = new Map(this.config.peers.map((peer) => [peer.id, peer]));
    const emit = (event: TransportEvent): void => this.emit(event);
    this.linkContext = { config: this.config, emit, track: (socket) => this.sockets.track(socket) };
    this.inboundContext = {
      config: this.config,
      emit,
      accepted: (peerId, connection) => this.accepted(peerId, connection),
      closed: (connection) => this.closed(connection),
      deliver: (peerId, message, frameBytes) => this.deliver(peerId, message, frameBytes),
    };
  }

  /** Listens for peers. Rejects with `TransportListenError` (naming host:port) if it cannot. */
  start(): Promise<{ port: number }> {
    if (this.state !== "new") return Promise.reject(new TransportStateError(`start() called on a transport that is ${this.state}`));
    this.state = "starting";
    const { listenHost: host, listenPort: port, inboundConnectionsMax } = this.config;
    const server = net.createServer({ noDelay: true, keepAlive: true, keepAliveInitialDelay: KEEPALIVE_DELAY_MS });
    server.maxConnections = inboundConnectionsMax;
    server.on("connection", (socket) => this.onConnection(socket));
    server.on("drop", (data) => this.emit({
      type: "error", peerId: 0, stage: "listen",
      error: new TransportError(`refused a connection from ${data?.remoteAddress ?? "unknown"}: inboundConnectionsMax (${inboundConnectionsMax}) reached`),
    }));
    const listening = new Promise<{ port: number }>((resolve, reject) => {
      const onListenError = (error: NodeJS.ErrnoException): void => {
        if (this.state === "starting") this.state = "new";
        reject(new TransportListenError(host, port, error.code, error));
      };
      server.once("error", onListenError);
      server.listen({ host, port }, () => {
        server.off("error", onListenError);
        server.on("error", (error) => this.emit({ type: "error", peerId: 0, stage: "listen", error }));
        this.server = server;
        if (this.state === "starting") this.state = "running";
        resolve({ port: (server.address() as net.AddressInfo).port });
      });
    });
    this.listening = listening.catch(() => undefined);
    return listening;
  }

  /** Queues `message` for its `to`; see the class comment. */
  send(message: Message): void {
    if (this.state === "stopping" || this.state === "stopped") return;
    const peer = this.peers.get(message.to);
    if (peer === undefined) {
      this.unknownPeerDrops++;
      this.emit({ type: "dropped", peerId: message.to, messageType: message.type, reason: "unknown-peer", droppedTotal: this.unknownPeerDrops });
      return;
    }
    let link = this.links.get(peer.id);
    if (link === undefined) {
      link = new OutboundLink(peer, this.linkContext);
      this.links.set(peer.id, link);
    }
    const bytes = encodeRaftFrame(message);
    if (bytes.length > this.config.frameBytesMax) {
      link.countDrop(message.type, "frame-too-large");
      return;
    }
    link.send({ messageType: message.type, term: message.term, bytes });
  }

  /**
   * Dials every known peer now. A member that joins a running cluster does this at
   * start, so the others receive its HELLO (with its advertised peer address) before
   * any leader needs to reach it.
   */
  announce(): void {
    if (this.state === "stopping" || this.state === "stopped") return;
    for (const peer of this.peers.values()) {
      let link = this.links.get(peer.id);
      if (link === undefined) {
        link = new OutboundLink(peer, this.linkContext);
        this.links.set(peer.id, link);
      }
      link.dial();
    }
  }

  /** The peers this transport sends to. */
  peerList(): readonly PeerAddress[] {
    return [...this.peers.values()];
  }

  /** Membership changed: dial added peers when there is something to send, forget removed ones. */
  setPeers(peers: readonly PeerAddress[]): void {
    const checked = validatePeers(peers, this.config.selfId);
    this.peers = new Map(checked.map((peer) => [peer.id, peer]));
    for (const [id, link] of this.links) {
      const peer = this.peers.get(id);
      if (peer === undefined) {
        link.close();
        this.links.delete(id);
      } else {
        link.setAddress(peer);
      }
    }
    for (const id of this.received.keys()) {
      if (!this.peers.has(id) && !this.inboundByPeer.has(id)) this.received.delete(id);
    }
  }

  /** Closes the listener and every connection; resolves once all sockets have closed. */
  async stop(): Promise<void> {
    if (this.state === "stopping" || this.state === "stopped") return;
    this.state = "stopping";
    for (const link of this.links.values()) link.close();
    this.links.clear();
    // A listen still in progress completes first, so its server is closed here too.
    await this.listening;
    const server = this.server;
    const serverClosed = server === undefined
      ? Promise.resolve()
      : new Promise<void>((resolve) => server.close(() => resolve()));
    await Promise.all([this.sockets.destroyAll(), serverClosed]);
    this.state = "stopped";
  }

  /** Per member: the configured peers and any member that has connected to this node. */
  stats(): Map<NodeId, PeerStats> {
    const ids = new Set<NodeId>([...this.peers.keys(), ...this.received.keys()]);
    const result = new Map<NodeId, PeerStats>();
    for (const id of ids) {
      const received = this.received.get(id);
      result.set(id, {
        ...ZERO_PEER_STATS,
        ...this.links.get(id)?.stats(),
        inboundConnected: this.inboundByPeer.get(id)?.isOpen ?? false,
        receivedMessages: received?.messages ?? 0,
        receivedBytes: received?.bytes ?? 0,
      });
    }
    return result;
  }

  private onConnection(socket: net.Socket): void {
    this.sockets.track(socket);
    if (this.state !== "running") {
      socket.destroy();
      return;
    }
    new InboundConnection(socket, this.inboundContext);
  }

  private emit(event: TransportEvent): void {
    // After stop() the owner is shutting down: closing sockets are not news.
    if (this.state === "stopping" || this.state === "stopped") return;
    this.handlers.onEvent?.(event);
  }

  private accepted(peerId: NodeId, connection: InboundConnection): void {
    // A member dials one connection to us: an older one it replaced is dead or dying.
    const previous = this.inboundByPeer.get(peerId);
    this.inboundByPeer.set(peerId, connection);
    if (!this.received.has(peerId)) this.received.set(peerId, { messages: 0, bytes: 0 });
    previous?.destroy();
  }

  private closed(connection: InboundConnection): void {
    if (this.inboundByPeer.get(connection.peerId) === connection) this.inboundByPeer.delete(connection.peerId);
  }

  private deliver(peerId: NodeId, message: Message, frameBytes: number): void {
    const received = this.received.get(peerId);
    if (received !== undefined) {
      received.messages++;
      received.bytes += frameBytes;
    }
    if (this.state === "running") this.handlers.onMessage(message);
  }
}
