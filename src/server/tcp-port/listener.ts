import { createServer, type Server, type Socket } from "node:net";
import { createServer as createTlsServer } from "node:tls";
import { keepPortServerCurrent, portServerOptions, type PortTls } from "../auth/port-security.js";
import { ConnectionsPerAddress } from "../../transport/per-address.js";

/**
 * A TLS client that has not finished its handshake by then is dropped (node's default
 * is 120 s, long enough for idle half-done handshakes to pile up). The HTTPS ports use
 * it; the binary and memcached ports take their handshake timeout from the handler.
 */
export const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

/** The connection counts every client port reports in its stats. */
export interface ConnectionCounts {
  /** TCP connections held now, TLS handshakes under way included. */
  readonly connectionsCurrent: number;
  /** Accepted since start (counted at the TCP accept, before any TLS handshake). */
  readonly connectionsTotal: number;
  /** Refused at `connectionsMax` or `connectionsPerAddressMax` since start. */
  readonly connectionsRejected: number;
  /** Of those, refused because their address had `connectionsPerAddressMax` open. */
  readonly connectionsRejectedPerAddress: number;
}

/** Which limit refused a connection. */
export type ConnectionLimit = "connectionsMax" | "connectionsPerAddressMax";

/** What a client port does with the sockets its listener accepts. */
export interface TcpPortHandler<Connection extends { destroy(): void }> {
  /** Open connections; one more is refused. */
  readonly connectionsMax: number;
  /** Open connections from one remote address; one more is refused, so one client cannot lock out the rest. */
  readonly connectionsPerAddressMax: number;
  /**
   * Keep writing after the client closed its side: a memcached client may send its
   * requests and shut down its half, and it still gets the replies.
   */
  readonly allowHalfOpen: boolean;
  /**
   * Serve TLS with this material instead of plain TCP (`--cert-file`...; reloaded when
   * the files change). The protocol gets the TLSSocket once the handshake is done, and
   * needs to know nothing else about it.
   */
  readonly tls?: PortTls;
  /**
   * TLS only: a connection whose TLS handshake has not finished by then is dropped
   * (node's tls.Server `handshakeTimeout`), so half-done handshakes cannot pile up.
   */
  readonly tlsHandshakeTimeoutMs: number;
  /** Wraps an accepted socket in the protocol's connection. */
  open(socket: Socket): Connection;
  /**
   * Reports a refused connection and answers the bytes that tell the client why, in
   * the protocol's own words; the socket closes once they are sent. On a TLS port the
   * refusal comes at the TCP accept, before TLS, where nothing can be said: the bytes
   * are not sent and the socket is just closed (still reported and counted).
   */
  refuse(remoteAddress: string | undefined, connectionsOpen: number, limit: ConnectionLimit): Uint8Array | string;
}

/**
 * A TCP listener for a client port: listens, holds the open connections under
 * `connectionsMax` and `connectionsPerAddressMax` (refusing past them with the protocol's
 * message), forgets each one when its socket closes, and drops them all on stop. The
 * protocol lives in the handler.
 *
 * The limits count TCP connections at their accept, TLS handshakes included: counted
 * only once TLS is up, a flood of sockets that never start TLS would hold the port (and
 * the member's descriptors) bounded by nothing but the handshake timeout.
 */
export class TcpListener<Connection extends { destroy(): void }> {
  /** Protocol connections (past the TLS handshake, if any). */
  private readonly open = new Set<Connection>();
  private server: Server | undefined;
  /**
   * Every TCP connection counted against the limits, from its accept until it closes,
   * the TLS handshake included. stop() drops these: one still in its handshake is no
   * protocol connection yet, and would hold stop() (server.close waits for it).
   */
  private readonly held = new Set<Socket>();
  private accepted = 0;
  private refused = 0;
  private refusedPerAddress = 0;
  private readonly perAddress: ConnectionsPerAddress;

  constructor(
    /** Names the port in the error of a second start. */
    private readonly portName: string,
    private readonly handler: TcpPortHandler<Connection>,
  ) {
    this.perAddress = new ConnectionsPerAddress(handler.connectionsPerAddressMax);
  }

  /** Connections open now (past the TLS handshake, if any). */
  get connections(): ReadonlySet<Connection> {
    return this.open;
  }

  counts(): ConnectionCounts {
    return { connectionsCurrent: this.held.size, connectionsTotal: this.accepted, connectionsRejected: this.refused, connectionsRejectedPerAddress: this.refusedPerAddress };
  }

  /** Listens; answers the bound port (useful with port 0). */
  async start(host: string, port: number): Promise<{ port: number }> {
    if (this.server !== undefined) throw new Error(`${this.portName}.start: already started`);
    const { tls, allowHalfOpen, tlsHandshakeTimeoutMs } = this.handler;
    let server: Server;
    if (tls === undefined) {
      server = createServer({ allowHalfOpen }, (socket) => {
        if (this.admit(socket, true)) this.openConnection(socket);
      });
    } else {
      // A client certificate is asked for always (its role may authenticate the client) and
      // required only with --client-cert-auth (serverOptions' rejectUnauthorized).
      const tlsServer = createTlsServer({ ...portServerOptions(tls), requestCert: true, allowHalfOpen, handshakeTimeout: tlsHandshakeTimeoutMs }, (socket) => this.openConnection(socket));
      keepPortServerCurrent(tlsServer, tls);
      // The raw TCP socket, before its TLS handshake: counted (or refused) here.
      tlsServer.on("connection", (socket: Socket) => void this.admit(socket, false));
      server = tlsServer;
    }
    this.server = server;
    try {
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => {
          server.off("error", reject);
          resolve();
        });
      });
    } catch (error) {
      this.server = undefined;
      throw error;
    }
    const address = server.address();
    return { port: typeof address === "object" && address !== null ? address.port : port };
  }

  /** Stops listening and drops every connection. Safe to call twice. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const connection of this.open) connection.destroy();
    for (const socket of this.held) socket.destroy();
    this.held.clear();
    if (server === undefined) return;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /**
   * Counts a TCP connection just accepted against the limits, or refuses it: with the
   * protocol's words on a plain port (`canAnswer`), by closing it before TLS.
   */
  private admit(socket: Socket, canAnswer: boolean): boolean {
    // A reset by the peer: 'close' follows, and the connection is forgotten there.
    socket.on("error", () => undefined);
    const address = socket.remoteAddress;
    if (this.server === undefined) {
      socket.destroy();
      return false;
    }
    if (this.held.size >= this.handler.connectionsMax) return this.refuse(socket, this.held.size, "connectionsMax", canAnswer);
    if (!this.perAddress.tryOpen(address)) return this.refuse(socket, this.perAddress.openFrom(address), "connectionsPerAddressMax", canAnswer);
    this.accepted++;
    this.held.add(socket);
    socket.once("close", () => {
      this.held.delete(socket);
      this.perAddress.close(address);
    });
    return true;
  }

  /** A counted socket (TLS: its handshake done) becomes the protocol's connection. */
  private openConnection(socket: Socket): void {
    socket.on("error", () => undefined);
    socket.setNoDelay(true);
    const connection = this.handler.open(socket);
    this.open.add(connection);
    socket.on("close", () => this.open.delete(connection));
  }

  /** Reports the refusal, answers it if the protocol can be spoken yet, and closes; `open` is what the limit counts now. */
  private refuse(socket: Socket, open: number, limit: ConnectionLimit, canAnswer: boolean): false {
    this.refused++;
    if (limit === "connectionsPerAddressMax") this.refusedPerAddress++;
    const refusal = this.handler.refuse(socket.remoteAddress, open, limit);
    if (canAnswer) socket.end(refusal, () => socket.destroy());
    else socket.destroy();
    return false;
  }
}
