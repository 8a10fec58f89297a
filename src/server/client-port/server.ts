import { PROTOCOL_ERROR_CODE, encodeResponse } from "../../protocol/index.js";
import type { PortSecurity } from "../auth/port-security.js";
import type { KvService } from "../kv-service.js";
import { TcpListener, type ConnectionCounts, type ConnectionLimit } from "../tcp-port/listener.js";
import { validateClientPortOptions, type ClientPortOptions, type ClientPortOptionsInput } from "./config.js";
import { ClientPortConnection } from "./connection.js";

/** What the server reports instead of logging; the program decides where it goes. */
export type ClientPortEvent =
  | { readonly type: "connection-rejected"; readonly remoteAddress: string | undefined; readonly connectionsMax: number; readonly limit?: ConnectionLimit }
  /** A client sent bytes that do not decode; it was answered PROTOCOL_ERROR and disconnected. */
  | { readonly type: "protocol-error"; readonly remoteAddress: string | undefined; readonly message: string }
  /** A failure that is not a KvServiceError: a bug below this layer, answered INTERNAL. */
  | { readonly type: "internal-error"; readonly error: unknown; readonly requestId?: string };

export interface ClientPortStats extends ConnectionCounts {
  /** Connections not being read because their replies wait unread (outputBufferBytesMax). */
  readonly connectionsPaused: number;
}

/**
 * KVRaft's binary client protocol (src/protocol/) on a TCP port, in front of a
 * KvService. Usage:
 *
 *   const server = new ClientPortServer(service, { host, port: 7100, statusJson: () => status() });
 *   const { port } = await server.start();
 *   ...
 *   await server.stop();   // closes the listener and every connection
 */
export class ClientPortServer {
  readonly options: ClientPortOptions;
  private readonly listener: TcpListener<ClientPortConnection>;

  constructor(
    service: KvService,
    options: ClientPortOptionsInput,
    onEvent: (event: ClientPortEvent) => void = () => undefined,
    security: PortSecurity = {},
  ) {
    this.options = validateClientPortOptions(options);
    const { connectionsMax, connectionsPerAddressMax } = this.options;
    this.listener = new TcpListener("ClientPortServer", {
      connectionsMax: connectionsMax,
      connectionsPerAddressMax,
      // The TLS handshake, like HELLO after it, must come within handshakeTimeoutMs.
      tlsHandshakeTimeoutMs: this.options.handshakeTimeoutMs,
      allowHalfOpen: false,
      ...(security.tls === undefined ? {} : { tls: security.tls }),
      open: (socket) => {
        const remoteAddress = socket.remoteAddress;
        return new ClientPortConnection(socket, {
          service,
          options: this.options,
          ...(security.auth === undefined ? {} : { auth: security.auth }),
          ...(security.members === undefined ? {} : { members: security.members }),
          onProtocolError: (message) => onEvent({ type: "protocol-error", remoteAddress, message }),
          onInternalError: (error, requestId) => onEvent(requestId === undefined ? { type: "internal-error", error } : { type: "internal-error", error, requestId }),
        });
      },
      refuse: (remoteAddress, connectionsOpen, limit) => {
        onEvent({ type: "connection-rejected", remoteAddress, connectionsMax, limit });
        return encodeResponse({
          kind: "error", requestId: 0, code: PROTOCOL_ERROR_CODE, retryable: true,
          message: limit === "connectionsPerAddressMax"
            ? `${remoteAddress ?? "your address"} already has ${connectionsOpen} connections to this member (connectionsPerAddressMax): close some, or share connections`
            : `this member has ${connectionsOpen} client connections (connectionsMax): try another member or later`,
        });
      },
    });
  }

  /** Listens; answers the bound port (useful with port 0). */
  start(): Promise<{ port: number }> {
    return this.listener.start(this.options.host, this.options.port);
  }

  /** Stops listening and drops every connection (open watches end with it). Safe to call twice. */
  stop(): Promise<void> {
    return this.listener.stop();
  }

  stats(): ClientPortStats {
    let connectionsPaused = 0;
    for (const connection of this.listener.connections) if (connection.readingPaused) connectionsPaused++;
    return { ...this.listener.counts(), connectionsPaused };
  }
}
