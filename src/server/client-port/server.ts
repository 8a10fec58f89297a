import { createServer, type Server, type Socket } from "node:net";
import { PROTOCOL_ERROR_CODE, encodeResponse } from "../../protocol/index.js";
import type { KvService } from "../kv-service.js";
import { validateClientPortOptions, type ClientPortOptions, type ClientPortOptionsInput } from "./config.js";
import { ClientPortConnection } from "./connection.js";

/** What the server reports instead of logging; the program decides where it goes. */
export type ClientPortEvent =
  | { readonly type: "connection-rejected"; readonly remoteAddress: string | undefined; readonly maxConnections: number }
  /** A client sent bytes that do not decode; it was answered PROTOCOL_ERROR and disconnected. */
  | { readonly type: "protocol-error"; readonly remoteAddress: string | undefined; readonly message: string }
  /** A failure that is not a KvServiceError: a bug below this layer, answered INTERNAL. */
  | { readonly type: "internal-error"; readonly error: unknown };

export interface ClientPortStats {
  readonly connectionsCurrent: number;
  readonly connectionsTotal: number;
  readonly connectionsRejected: number;
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
  private readonly connections = new Set<ClientPortConnection>();
  private listener: Server | undefined;
  private connectionsTotal = 0;
  private connectionsRejected = 0;

  constructor(
    private readonly service: KvService,
    options: ClientPortOptionsInput,
    private readonly onEvent: (event: ClientPortEvent) => void = () => undefined,
  ) {
    this.options = validateClientPortOptions(options);
  }

  /** Listens; answers the bound port (useful with port 0). */
  async start(): Promise<{ port: number }> {
    if (this.listener !== undefined) throw new Error("ClientPortServer.start: already started");
    const listener = createServer((socket) => this.accept(socket));
    this.listener = listener;
    try {
      await new Promise<void>((resolve, reject) => {
        listener.once("error", reject);
        listener.listen(this.options.port, this.options.host, () => {
          listener.off("error", reject);
          resolve();
        });
      });
    } catch (error) {
      this.listener = undefined;
      throw error;
    }
    const address = listener.address();
    return { port: typeof address === "object" && address !== null ? address.port : this.options.port };
  }

  /** Stops listening and drops every connection (open watches end with it). Safe to call twice. */
  async stop(): Promise<void> {
    const listener = this.listener;
    this.listener = undefined;
    for (const connection of this.connections) connection.destroy();
    if (listener === undefined) return;
    await new Promise<void>((resolve) => listener.close(() => resolve()));
  }

  stats(): ClientPortStats {
    let connectionsPaused = 0;
    for (const connection of this.connections) if (connection.readingPaused) connectionsPaused++;
    return { connectionsCurrent: this.connections.size, connectionsTotal: this.connectionsTotal, connectionsRejected: this.connectionsRejected, connectionsPaused };
  }

  private accept(socket: Socket): void {
    const remoteAddress = socket.remoteAddress;
    socket.on("error", () => undefined);
    if (this.connections.size >= this.options.maxConnections) {
      this.connectionsRejected++;
      this.onEvent({ type: "connection-rejected", remoteAddress, maxConnections: this.options.maxConnections });
      const refusal = encodeResponse({
        kind: "error", requestId: 0, code: PROTOCOL_ERROR_CODE, retryable: true,
        message: `this member has ${this.connections.size} client connections (maxConnections): try another member or later`,
      });
      socket.end(refusal, () => socket.destroy());
      return;
    }
    this.connectionsTotal++;
    socket.setNoDelay(true);
    const connection = new ClientPortConnection(socket, {
      service: this.service,
      options: this.options,
      onProtocolError: (message) => this.onEvent({ type: "protocol-error", remoteAddress, message }),
      onInternalError: (error) => this.onEvent({ type: "internal-error", error }),
    });
    this.connections.add(connection);
    socket.on("close", () => this.connections.delete(connection));
  }
}
