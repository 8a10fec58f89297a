import { performance } from "node:perf_hooks";
import { VERSION } from "../../version.js";
import type { Caller } from "../auth/caller.js";
import { ClientAuth } from "../auth/client-auth.js";
import type { PortSecurity } from "../auth/port-security.js";
import type { KvService } from "../kv-service.js";
import { newRequestId } from "../../request-id.js";
import { MemcachedAuthGate, type FlushAllPolicy } from "./auth-gate.js";
import { TcpListener, type ConnectionCounts, type ConnectionLimit } from "../tcp-port/listener.js";
import { commandNameOf, executeRequest, type CommandContext } from "./commands.js";
import { validateMemcachedOptions, type MemcachedServerOptions } from "./config.js";
import { MemcachedConnection } from "./connection.js";
import type { Reply, StatLine } from "./replies.js";
import type { Request } from "./requests.js";
import { COUNTER_NAMES, CommandCounters, generalStatLines, type CounterName } from "./stats.js";
import type { RequestObserver } from "../request-observer.js";
import { NO_TRACE, type Tracer } from "../../trace/index.js";

/** What the server reports instead of logging; the program decides where it goes. */
export type MemcachedServerEvent =
  | { readonly type: "connection-rejected"; readonly remoteAddress: string | undefined; readonly connectionsMax: number; readonly limit?: ConnectionLimit }
  /** A failure that is not a KvServiceError: a bug below this layer, answered SERVER_ERROR. */
  | { readonly type: "internal-error"; readonly error: unknown; readonly requestId?: string };

export interface MemcachedServerStats extends ConnectionCounts {
  readonly counters: Readonly<Record<CounterName, number>>;
}

/** No tokens, no client certificates: every command allowed, flush_all from loopback only. */
const OPEN = new ClientAuth(undefined, false);

const TOO_MANY_CONNECTIONS = "SERVER_ERROR too many open connections\r\n";
const TOO_MANY_FROM_ADDRESS = "SERVER_ERROR too many open connections from your address\r\n";

/** What a member adds to its memcached port besides the options: TLS and authentication, policy, observers. */
export interface MemcachedServerExtras extends PortSecurity {
  /** Who may run flush_all; "admin" when absent (see auth-gate.ts). */
  readonly flushAll?: FlushAllPolicy;
  /** Told of each command served (the member's request metrics). */
  readonly onRequest?: RequestObserver;
  /** The member's tracer: a command becomes a local event with its request id. */
  readonly tracer?: Tracer;
}

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
  private readonly listener: TcpListener<MemcachedConnection>;
  private startedAtMs = 0;
  private boundPort = 0;

  constructor(
    private readonly service: KvService,
    options: Partial<MemcachedServerOptions> = {},
    onEvent: (event: MemcachedServerEvent) => void = () => undefined,
    extras: MemcachedServerExtras = {},
  ) {
    this.options = validateMemcachedOptions(options);
    const { connectionsMax, connectionsPerAddressMax, handshakeTimeoutMs } = this.options;
    const context: CommandContext = {
      service,
      requestTimeoutMs: this.options.requestTimeoutMs,
      version: this.options.version,
      counters: this.counters,
      statLines: (group) => (group === "settings" ? this.settingsLines() : this.generalLines()),
      onInternalError: (error, requestId) => onEvent(requestId === undefined ? { type: "internal-error", error } : { type: "internal-error", error, requestId }),
      ...(extras.onRequest === undefined ? {} : { onRequest: extras.onRequest }),
    };
    const tracer = extras.tracer ?? NO_TRACE;
    this.listener = new TcpListener("MemcachedServer", {
      connectionsMax,
      connectionsPerAddressMax,
      tlsHandshakeTimeoutMs: handshakeTimeoutMs,
      allowHalfOpen: true,
      ...(extras.tls === undefined ? {} : { tls: extras.tls }),
      open: (socket) => {
        // Each command gets a request id: in log lines about it, and sent on by a follower that forwards it.
        const execute = (request: Request, caller: Caller | undefined): Promise<Reply> => {
          const requestId = newRequestId();
          // The text protocol carries no stamp: a traced member records the command as a local event of its own.
          if (tracer.enabled) tracer.receive({ kind: commandNameOf(request), from: `memcached-client@${socket.remoteAddress ?? "?"}`, stamp: undefined, requestId });
          return executeRequest(context, request, { request: { requestId }, caller });
        };
        // flush_all is guarded even without authentication (loopback only, or disabled).
        const gate = new MemcachedAuthGate({ auth: extras.auth ?? OPEN, flushAll: extras.flushAll ?? "admin" }, socket);
        return new MemcachedConnection(socket, this.options, {
          execute: (request) => gate.execute(request, execute),
          onInternalError: context.onInternalError,
        });
      },
      refuse: (remoteAddress, _open, limit) => {
        onEvent({ type: "connection-rejected", remoteAddress, connectionsMax, limit });
        return limit === "connectionsPerAddressMax" ? TOO_MANY_FROM_ADDRESS : TOO_MANY_CONNECTIONS;
      },
    });
  }

  /** Listens; answers the bound port (useful with port 0). */
  async start(): Promise<{ port: number }> {
    const { port } = await this.listener.start(this.options.host, this.options.port);
    this.boundPort = port;
    this.startedAtMs = performance.now();
    return { port };
  }

  /** Stops listening and drops every connection. Safe to call twice. */
  stop(): Promise<void> {
    return this.listener.stop();
  }

  stats(): MemcachedServerStats {
    const counters = Object.fromEntries(COUNTER_NAMES.map((name) => [name, this.counters.get(name)])) as Record<CounterName, number>;
    return { ...this.listener.counts(), counters };
  }

  private generalLines(): StatLine[] {
    const facts = {
      pid: process.pid,
      uptimeSeconds: Math.floor((performance.now() - this.startedAtMs) / 1000),
      nowSeconds: Math.floor(this.service.nowMs() / 1000),
      version: this.options.version,
      kvraftVersion: VERSION,
      ...this.listener.counts(),
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
