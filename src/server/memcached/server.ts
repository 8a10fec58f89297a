import { createServer, type Server, type Socket } from "node:net";
import { performance } from "node:perf_hooks";
import type { KvService } from "../kv-service.js";
import { executeRequest, type CommandContext } from "./commands.js";
import { validateMemcachedOptions, type MemcachedServerOptions } from "./config.js";
import { MemcachedConnection } from "./connection.js";
import type { StatLine } from "./replies.js";
import { COUNTER_NAMES, CommandCounters, generalStatLines, type CounterName } from "./stats.js";

/** What the server reports instead of logging; the program decides where it goes. */
export type MemcachedServerEvent =
  | { readonly type: "connection-rejected"; readonly remoteAddress: string | undefined; readonly connectionsMax: number }
  /** A failure that is not a KvServiceError: a bug below this layer, answered SERVER_ERROR. */
  | { readonly type: "internal-error"; readonly error: unknown };

export interface MemcachedServerStats {
  readonly connectionsCurrent: number;
  readonly connectionsTotal: number;
  readonly connectionsRejected: number;
  readonly counters: Readonly<Record<CounterName, number>>;
}

const TOO_MANY_CONNECTIONS = "SERVER_ERROR too many open connections\r\n";

/**
 * memcached's text protocol on a TCP port, in front of a KvService. Usage:
 *
 *   const server = new MemcachedServer(service, { port: 11211 });
 *   const { port } = await server.start();
 *   ...
 *   await server.stop();   // closes the listener and every connection
 */
export class MemcachedServer {
  readonly options: MemcachedServerOptions;
  private readonly counters = new CommandCounters();
  private readonly connections = new Set<MemcachedConnection>();
  private readonly context: CommandContext;
  private listener: Server | undefined;
  private connectionsTotal = 0;
  private connectionsRejected = 0;
  private startedAtMs = 0;
  private boundPort = 0;

  constructor(
    private readonly service: KvService,
    options: Partial<MemcachedServerOptions> = {},
    private readonly onEvent: (event: MemcachedServerEvent) => void = () => undefined,
  ) {
    this.options = validateMemcachedOptions(options);
    this.context = {
      service,
      requestTimeoutMs: this.options.requestTimeoutMs,
      version: this.options.version,
      counters: this.counters,
      statLines: (group) => (group === "settings" ? this.settingsLines() : this.generalLines()),
      onInternalError: (error) => this.onEvent({ type: "internal-error", error }),
    };
  }

  /** Listens; answers the bound port (useful with port 0). */
  async start(): Promise<{ port: number }> {
    if (this.listener !== undefined) throw new Error("MemcachedServer.start: already started");
    // Half-open: a client may send its requests and close its side; it still gets the replies.
    const listener = createServer({ allowHalfOpen: true }, (socket) => this.accept(socket));
    this.listener = listener;
    await new Promise<void>((resolve, reject) => {
      listener.once("error", reject);
      listener.listen(this.options.port, this.options.host, () => {
        listener.off("error", reject);
        resolve();
      });
    });
    const address = listener.address();
    this.boundPort = typeof address === "object" && address !== null ? address.port : this.options.port;
    this.startedAtMs = performance.now();
    return { port: this.boundPort };
  }

  /** Stops listening and drops every connection. Safe to call twice. */
  async stop(): Promise<void> {
    const listener = this.listener;
    this.listener = undefined;
    for (const connection of this.connections) connection.destroy();
    if (listener === undefined) return;
    await new Promise<void>((resolve) => listener.close(() => resolve()));
  }

  stats(): MemcachedServerStats {
    const counters = Object.fromEntries(COUNTER_NAMES.map((name) => [name, this.counters.get(name)])) as Record<CounterName, number>;
    return {
      connectionsCurrent: this.connections.size,
      connectionsTotal: this.connectionsTotal,
      connectionsRejected: this.connectionsRejected,
      counters,
    };
  }

  private accept(socket: Socket): void {
    if (this.connections.size >= this.options.connectionsMax) {
      this.connectionsRejected++;
      this.onEvent({ type: "connection-rejected", remoteAddress: socket.remoteAddress, connectionsMax: this.options.connectionsMax });
      socket.on("error", () => undefined);
      socket.end(TOO_MANY_CONNECTIONS, () => socket.destroy());
      return;
    }
    this.connectionsTotal++;
    socket.setNoDelay(true);
    const connection = new MemcachedConnection(socket, this.options, {
      execute: (request) => executeRequest(this.context, request),
      onInternalError: this.context.onInternalError,
    });
    this.connections.add(connection);
    socket.on("close", () => this.connections.delete(connection));
  }

  private generalLines(): StatLine[] {
    const facts = {
      pid: process.pid,
      uptimeSeconds: Math.floor((performance.now() - this.startedAtMs) / 1000),
      nowSeconds: Math.floor(this.service.nowMs() / 1000),
      version: this.options.version,
      connectionsCurrent: this.connections.size,
      connectionsTotal: this.connectionsTotal,
      connectionsRejected: this.connectionsRejected,
    };
    return generalStatLines(facts, this.counters);
  }

  private settingsLines(): StatLine[] {
    return [
      ["maxconns", this.options.connectionsMax],
      ["tcpport", this.boundPort],
      ["item_size_max", this.options.valueBytesMax],
      // Keys are never evicted to make room: a full store refuses writes instead.
      ["evictions", "off"],
      ["cas_enabled", "yes"],
    ];
  }
}
