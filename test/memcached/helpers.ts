import { connect, type Socket } from "node:net";
import { executeRequest, type CommandContext } from "../../src/server/memcached/commands.js";
import { DEFAULT_MEMCACHED_OPTIONS, type MemcachedServerOptions } from "../../src/server/memcached/config.js";
import { RequestParser, serializeReply, type ParserLimits } from "../../src/server/memcached/parser.js";
import type { ParseEvent } from "../../src/server/memcached/requests.js";
import { MemcachedServer } from "../../src/server/memcached/server.js";
import { CommandCounters } from "../../src/server/memcached/stats.js";
import type { FakeKvService } from "../support/fake-kv-service.js";

export const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
export const latin1 = (bytes: Uint8Array): string => Buffer.from(bytes).toString("latin1");

export const TEST_LIMITS: ParserLimits = { lineBytesMax: 1024, valueBytesMax: 64, getKeysMax: 8 };

/** Every event the parser yields for `input` given at once. */
export function parseAll(input: string | Uint8Array, limits: ParserLimits = TEST_LIMITS): ParseEvent[] {
  const parser = new RequestParser(limits);
  parser.push(typeof input === "string" ? Buffer.from(input, "latin1") : input);
  const events: ParseEvent[] = [];
  for (let event = parser.next(); event !== undefined; event = parser.next()) events.push(event);
  return events;
}

/** One line per event, for tables: `set "k" flags=1 exptime=0 data="ab" noreply`, or the error reply. */
export function summarize(event: ParseEvent): string {
  const key = (bytes: Uint8Array): string => JSON.stringify(latin1(bytes));
  switch (event.kind) {
    case "protocol-error":
      return `${event.reply}${event.noreply ? " [noreply]" : ""}${event.close ? " [close]" : ""}`;
    case "storage": {
      const cas = event.casUnique === undefined ? "" : ` cas=${event.casUnique}`;
      const noreply = event.noreply ? " noreply" : "";
      return `${event.command} ${key(event.key)} flags=${event.flags} exptime=${event.exptime}${cas} data=${key(event.data)}${noreply}`;
    }
    case "retrieval":
      return `${event.command} ${event.keys.map(key).join(" ")}`;
    case "get-and-touch":
      return `${event.command} exptime=${event.exptime} ${event.keys.map(key).join(" ")}`;
    case "delete":
    case "touch":
    case "counter": {
      const name = event.kind === "counter" ? event.command : event.kind;
      const arg = event.kind === "counter" ? ` delta=${event.delta}` : event.kind === "touch" ? ` exptime=${event.exptime}` : "";
      return `${name} ${key(event.key)}${arg}${event.noreply ? " noreply" : ""}`;
    }
    case "flush-all":
      return `flush_all delay=${event.delay}${event.noreply ? " noreply" : ""}`;
    case "verbosity":
      return `verbosity${event.noreply ? " noreply" : ""}`;
    case "stats":
      return `stats ${event.group}`;
    default:
      return event.kind;
  }
}

/** A command context over the fake service. */
export function testContext(service: FakeKvService): CommandContext & { internalErrors: unknown[] } {
  const internalErrors: unknown[] = [];
  return {
    service,
    requestTimeoutMs: 1000,
    version: "0.1.0",
    counters: new CommandCounters(),
    statLines: (group) => (group === "settings" ? [["maxconns", 1]] : [["pid", 1]]),
    onInternalError: (error) => internalErrors.push(error),
    internalErrors,
  };
}

/**
 * Runs protocol text through parser, commands and serializer, one request after the
 * other (as one connection does), and answers the reply text: the whole protocol but
 * the socket.
 */
export async function converse(context: CommandContext, input: string): Promise<string> {
  let output = "";
  for (const event of parseAll(input, { lineBytesMax: 4096, valueBytesMax: 1024, getKeysMax: 16 })) {
    if (event.kind === "protocol-error") {
      if (!event.noreply) output += `${event.reply}\r\n`;
      continue;
    }
    output += latin1(serializeReply(await executeRequest(context, event)));
  }
  return output;
}

/** Starts a server on 127.0.0.1:0, runs `body`, and stops the server however `body` ends. */
export async function withServer<T>(
  service: FakeKvService,
  options: Partial<MemcachedServerOptions>,
  body: (port: number, server: MemcachedServer) => Promise<T>,
): Promise<T> {
  // A fixed version, so that replies in tests do not change with releases.
  const server = new MemcachedServer(service, { ...DEFAULT_MEMCACHED_OPTIONS, host: "127.0.0.1", port: 0, version: "0.1.0", ...options });
  const { port } = await server.start();
  try {
    return await body(port, server);
  } finally {
    await server.stop();
  }
}

/**
 * A raw protocol client: writes bytes, reads exact reply text. Reads wait on data
 * events (no sleeps); a read that can never complete fails when the server closes.
 */
export class RawClient {
  private received = "";
  private waiter: (() => void) | undefined;
  private ended = false;
  readonly closed: Promise<void>;

  private constructor(private readonly socket: Socket) {
    socket.on("data", (chunk: Buffer) => {
      this.received += chunk.toString("latin1");
      this.waiter?.();
    });
    this.closed = new Promise((resolve) => {
      socket.on("close", () => {
        this.ended = true;
        this.waiter?.();
        resolve();
      });
    });
    socket.on("error", () => undefined);
  }

  static async connect(port: number): Promise<RawClient> {
    const socket = connect({ host: "127.0.0.1", port });
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    return new RawClient(socket);
  }

  send(data: string | Uint8Array): void {
    this.socket.write(typeof data === "string" ? Buffer.from(data, "latin1") : data);
  }

  /** Closes the sending side only: the server still answers what it has read. */
  endInput(): void {
    this.socket.end();
  }

  /** Waits until the text received so far satisfies `done`, then takes and answers it all. */
  async readUntil(done: (text: string) => boolean): Promise<string> {
    while (!done(this.received)) {
      if (this.ended) throw new Error(`connection closed; received so far: ${JSON.stringify(this.received)}`);
      await new Promise<void>((resolve) => (this.waiter = resolve));
      this.waiter = undefined;
    }
    const text = this.received;
    this.received = "";
    return text;
  }

  /**
   * Reads as many characters as `expected` has and answers them; stops early when what
   * arrived already differs from it (or the server closes), so a wrong reply fails the
   * test at once instead of waiting for bytes that will never come.
   */
  async readLike(expected: string): Promise<string> {
    const matches = (): boolean => expected.startsWith(this.received.slice(0, expected.length));
    while (this.received.length < expected.length && matches() && !this.ended) {
      await new Promise<void>((resolve) => (this.waiter = resolve));
      this.waiter = undefined;
    }
    const text = this.received.slice(0, expected.length);
    this.received = this.received.slice(expected.length);
    return text;
  }

  /** Everything until the server closes the connection. */
  async readToClose(): Promise<string> {
    await this.closed;
    const text = this.received;
    this.received = "";
    return text;
  }

  destroy(): void {
    this.socket.destroy();
  }
}
