import * as net from "node:net";
import * as tls from "node:tls";
import type { Message } from "../raft/messages.js";
import type { NodeId } from "../raft/types.js";
import { ConnectionsPerAddress } from "./per-address.js";
import { type PeerAddress, type TransportConfig, type TransportOptions, validatePeers, validateTransportConfig } from "./config.js";
import { TransportError, TransportListenError, TransportStateError } from "./errors.js";
import { type PeerStats, type TransportEvent, ZERO_PEER_STATS } from "./events.js";
import type { TraceStamp } from "../trace/index.js";
import { encodeRaftFrame, encodeTracedRaftFrame } from "./frames.js";
import { type CallerIdentity, InboundConnection, type InboundContext } from "./inbound-connection.js";
import { type LinkContext, OutboundLink } from "./outbound-link.js";
import { authenticatedMember } from "./peer-tls.js";
import { KEEPALIVE_DELAY_MS, remoteAddressOf, SocketTracker } from "./socket-util.js";

export interface TransportHandlers {
  /**
   * A message from a peer to this node, with the sender's trace stamp if it traces (and
   * the stamp was valid). Called synchronously from socket IO; an exception thrown here
   * is not caught (a broken Raft invariant should stop the process).
   */
  onMessage(message: Message, stamp?: TraceStamp): void;
  /**
   * Asked before `onMessage`: why `message` must not be stepped (a sender not in the
   * configuration, a message no correct member sends), or undefined to deliver it. A
   * refused message is reported ("dropped", "rejected") and its connection closed.
   */
  refusalOf?(message: Message): string | undefined;
  /**
   * Whether `id` is a member now (a voter or learner of the configuration). Callers
   * that are not are refused after their HELLO ("not-a-member"), and only members get
   * stats. Undefined: every caller that passes the handshake checks is accepted.
   */
  isMember?(id: NodeId): boolean;
  /**
   * Whether a caller that proved (`authenticated`, TLS) or claims (plain) member id `id`
   * may connect. Undefined: `isMember`. An owner may admit a non-member now and then (a
   * leader it has not learned of yet), and refuse its messages one by one (`refusalOf`).
   */
  admits?(id: NodeId, authenticated: boolean): boolean;
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
  private server: net.Server | tls.Server | undefined;
  private state: TransportState = "new";
  /** Settles when the listen attempt of `start()` does: `stop()` waits for it. */
  private listening: Promise<unknown> = Promise.resolve();
  private unknownPeerDrops = 0;
  /** Inbound TCP connections per remote address, counted at accept (see inboundConnectionsPerAddressMax). */
  private readonly perAddress: ConnectionsPerAddress;
  private refusedPerAddress = 0;
  private readonly linkContext: LinkContext;
  private readonly inboundContext: InboundContext;

  constructor(
    options: TransportOptions,
    private readonly handlers: TransportHandlers,
  ) {
    this.config = validateTransportConfig(options);
    this.peers = new Map(this.config.peers.map((peer) => [peer.id, peer]));
    this.perAddress = new ConnectionsPerAddress(this.config.inboundConnectionsPerAddressMax);
    const emit = (event: TransportEvent): void => this.emit(event);
    this.linkContext = { config: this.config, emit, track: (socket) => this.sockets.track(socket) };
    this.inboundContext = {
      config: this.config,
      emit,
      accepted: (peerId, connection) => this.accepted(peerId, connection),
      closed: (connection) => this.closed(connection),
      deliver: (peerId, message, frameBytes, stamp) => this.deliver(peerId, message, frameBytes, stamp),
      admits: (peerId, authenticated) => this.handlers.admits?.(peerId, authenticated) ?? this.isMember(peerId),
    };
  }

  /** Listens for peers. Rejects with `TransportListenError` (naming host:port) if it cannot. */
  start(): Promise<{ port: number }> {
    if (this.state !== "new") return Promise.reject(new TransportStateError(`start() called on a transport that is ${this.state}`));
    this.state = "starting";
    const { listenHost: host, listenPort: port, inboundConnectionsMax } = this.config;
    const server = this.createServer();
    server.maxConnections = inboundConnectionsMax;
    server.on("drop", (data) => this.emit({
      type: "error", peerId: 0, stage: "limit",
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

  /**
   * Queues `message` for its `to`; see the class comment. With a trace `stamp` (only a
   * member that traces has one) it goes in a TRACED_RAFT frame, else in a RAFT frame.
   */
  send(message: Message, stamp?: TraceStamp): void {
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
    const bytes = stamp === undefined ? encodeRaftFrame(message) : encodeTracedRaftFrame(message, stamp);
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

  /**
   * Per member: the peers and any member that has connected to this node, members only
   * (`isMember`): an address announced by a caller that is not one gets no entry, so a
   * stranger cannot add series to the owner's metrics.
   */
  stats(): Map<NodeId, PeerStats> {
    const ids = new Set<NodeId>([...this.peers.keys(), ...this.received.keys()]);
    const result = new Map<NodeId, PeerStats>();
    for (const id of ids) {
      if (!this.isMember(id)) continue;
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

  /**
   * Plain TCP, or mutual TLS: the caller must present a certificate of the cluster CA
   * (refused in the TLS handshake otherwise), which must name a member of this cluster
   * (`InboundConnection` checks it against the HELLO). The TLS handshake has the same
   * deadline as a dial's handshake.
   */
  private createServer(): net.Server | tls.Server {
    const socketOptions = { noDelay: true, keepAlive: true, keepAliveInitialDelay: KEEPALIVE_DELAY_MS };
    const peerTls = this.config.tls;
    if (peerTls === undefined) {
      const server = net.createServer(socketOptions);
      server.on("connection", (socket) => {
        if (this.admitAddress(socket)) this.onConnection(socket, "plain");
      });
      return server;
    }
    const server = tls.createServer({
      ...socketOptions, ...peerTls.serverOptions(), requestCert: true, rejectUnauthorized: true, handshakeTimeout: this.config.connectTimeoutMs,
    });
    // The raw socket is tracked and counted from the start, before its TLS handshake (which
    // must end within connectTimeoutMs): stop() also ends handshakes under way, and sockets
    // that never start TLS count against the limits.
    server.on("connection", (socket: net.Socket) => {
      this.sockets.track(socket);
      if (this.state !== "running") socket.destroy();
      else this.admitAddress(socket);
    });
    server.on("secureConnection", (socket: tls.TLSSocket) => {
      this.onConnection(socket, authenticatedMember(socket.getPeerCertificate().subjectaltname, this.config.clusterId));
    });
    server.on("tlsClientError", (error, socket) => this.emit({
      type: "error", peerId: 0, stage: "tls",
      error: new TransportError(`TLS handshake with ${remoteAddressOf(socket)} failed: ${error.message} (a peer needs a member certificate of this cluster's CA)`),
    }));
    peerTls.keepServerCurrent(server, (error) => this.emit({ type: "error", peerId: 0, stage: "listen", error }));
    return server;
  }

  /**
   * Counts a TCP connection just accepted against inboundConnectionsPerAddressMax, or
   * closes it: before TLS and HELLO nothing can be said to the caller.
   */
  private admitAddress(socket: net.Socket): boolean {
    const address = socket.remoteAddress;
    if (!this.perAddress.tryOpen(address)) {
      this.refusedPerAddress++;
      socket.on("error", () => undefined);
      socket.destroy();
      const { inboundConnectionsPerAddressMax } = this.config;
      this.emit({
        type: "error", peerId: 0, stage: "limit",
        error: new TransportError(`refused a connection from ${address ?? "unknown"}: it has ${this.perAddress.openFrom(address)} open (inboundConnectionsPerAddressMax ${inboundConnectionsPerAddressMax}; ${this.refusedPerAddress} refused so far)`),
      });
      return false;
    }
    socket.once("close", () => this.perAddress.close(address));
    return true;
  }

  private onConnection(socket: net.Socket, identity: CallerIdentity): void {
    this.sockets.track(socket);
    if (this.state !== "running") {
      socket.destroy();
      return;
    }
    new InboundConnection(socket, this.inboundContext, identity);
  }

  private isMember(id: NodeId): boolean {
    return this.handlers.isMember?.(id) ?? true;
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

  private deliver(peerId: NodeId, message: Message, frameBytes: number, stamp: TraceStamp | undefined): string | undefined {
    const received = this.received.get(peerId);
    if (received !== undefined) {
      received.messages++;
      received.bytes += frameBytes;
    }
    if (this.state !== "running") return undefined;
    const refusal = this.handlers.refusalOf?.(message);
    if (refusal === undefined) this.handlers.onMessage(message, stamp);
    return refusal;
  }
}
