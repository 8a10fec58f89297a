import { createServer, type Server, type Socket } from "node:net";
import { createServer as createTlsServer } from "node:tls";
import type { TlsMaterial } from "../../security/tls-material.js";
import { ConnectionsPerAddress } from "./per-address.js";

/**
 * A TLS client that has not finished its handshake by then is dropped (node's default
 * is 120 s, long enough for idle half-done handshakes to pile up).
 */
export const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

/** The connection counts every client port reports in its stats. */
export interface ConnectionCounts {
  readonly connectionsCurrent: number;
  /** Accepted since start. */
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
  readonly tls?: { readonly material: TlsMaterial; readonly onReloadError: (error: Error) => void };
  /** Wraps an accepted socket in the protocol's connection. */
  open(socket: Socket): Connection;
  /**
   * Reports a refused connection and answers the bytes that tell the client why, in
   * the protocol's own words; the socket closes once they are sent.
   */
  refuse(remoteAddress: string | undefined, connectionsOpen: number, limit: ConnectionLimit): Uint8Array | string;
}

/**
 * A TCP listener for a client port: listens, holds the open connections under
 * `connectionsMax` (refusing past it with the protocol's message), forgets each one when
 * its socket closes, and drops them all on stop. The protocol lives in the handler.
 */
export class TcpListener<Connection extends { destroy(): void }> {
  private readonly open = new Set<Connection>();
  private server: Server | undefined;
  /**
   * TLS only: every TCP connection from its accept, the handshake included. One still in
   * its handshake is no protocol connection yet, and would hold stop() (server.close
   * waits for it) until its handshake timed out.
   */
  private readonly handshaking = new Set<Socket>();
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

  /** Connections open now. */
  get connections(): ReadonlySet<Connection> {
    return this.open;
  }

  counts(): ConnectionCounts {
    return { connectionsCurrent: this.open.size, connectionsTotal: this.accepted, connectionsRejected: this.refused, connectionsRejectedPerAddress: this.refusedPerAddress };
  }

  /** Listens; answers the bound port (useful with port 0). */
  async start(host: string, port: number): Promise<{ port: number }> {
    if (this.server !== undefined) throw new Error(`${this.portName}.start: already started`);
    const { tls, allowHalfOpen } = this.handler;
    const server = tls === undefined
      ? createServer({ allowHalfOpen }, (socket) => this.accept(socket))
      // A client certificate is asked for always (its role may authenticate the client) and
      // required only with --client-cert-auth (serverOptions' rejectUnauthorized).
      : createTlsServer({ ...tls.material.serverOptions(), requestCert: true, allowHalfOpen, handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS }, (socket) => this.accept(socket));
    if (tls !== undefined) {
      tls.material.keepServerCurrent(server as ReturnType<typeof createTlsServer>, tls.onReloadError);
      server.on("connection", (socket: Socket) => {
        this.handshaking.add(socket);
        socket.once("close", () => this.handshaking.delete(socket));
      });
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
    for (const socket of this.handshaking) socket.destroy();
    this.handshaking.clear();
    if (server === undefined) return;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    // A reset by the peer: 'close' follows, and the connection is forgotten there.
    socket.on("error", () => undefined);
    const address = socket.remoteAddress;
    if (this.open.size >= this.handler.connectionsMax) return this.refuse(socket, this.open.size, "connectionsMax");
    if (!this.perAddress.tryOpen(address)) return this.refuse(socket, this.perAddress.openFrom(address), "connectionsPerAddressMax");
    this.accepted++;
    socket.setNoDelay(true);
    const connection = this.handler.open(socket);
    this.open.add(connection);
    socket.on("close", () => {
      this.open.delete(connection);
      this.perAddress.close(address);
    });
  }

  /** Answers the protocol's refusal and closes; `open` is what the limit counts now. */
  private refuse(socket: Socket, open: number, limit: ConnectionLimit): void {
    this.refused++;
    if (limit === "connectionsPerAddressMax") this.refusedPerAddress++;
    const refusal = this.handler.refuse(socket.remoteAddress, open, limit);
    socket.end(refusal, () => socket.destroy());
  }
}
