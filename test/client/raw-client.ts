import { connect, type Socket } from "node:net";
import { FrameDecoder, decodeResponse, encodeRequest, type Request, type Response } from "../../src/protocol/index.js";
import { ClientPortServer, type ClientPortEvent } from "../../src/server/client-port/index.js";
import type { ClientPortOptionsInput } from "../../src/server/client-port/index.js";
import type { KvService } from "../../src/server/kv-service.js";
import type { PortSecurity } from "../../src/server/auth/port-security.js";

/** Event-loop turns to wait for a condition before failing: a bound, not a sleep. */
const WAIT_MS_MAX = 10_000;

/** Waits for `condition` with a deadline, checking on every timer turn. */
export async function waitUntil(what: string, condition: () => boolean, timeoutMs = WAIT_MS_MAX): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * A protocol client at the frame level, for testing the server: sends frames as given
 * and collects every response, so tests can look at ids, order and kinds exactly.
 */
export class RawClient {
  readonly responses: Response[] = [];
  closed = false;
  private readonly decoder = new FrameDecoder(16 * 1024 * 1024);

  private constructor(readonly socket: Socket) {
    socket.on("data", (chunk: Buffer) => {
      this.decoder.push(chunk);
      for (let frame = this.decoder.next(); frame !== undefined; frame = this.decoder.next()) this.responses.push(decodeResponse(frame));
    });
    socket.on("close", () => {
      this.closed = true;
    });
    socket.on("error", () => undefined);
  }

  static async connect(port: number, hello = true, forward = false): Promise<RawClient> {
    const socket = connect({ host: "127.0.0.1", port });
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    const client = new RawClient(socket);
    if (hello) {
      client.send({ kind: "hello", requestId: 1, clientName: "raw", forward });
      await client.reply(1);
    }
    return client;
  }

  send(...requests: Request[]): void {
    for (const request of requests) this.socket.write(encodeRequest(request));
  }

  sendBytes(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  /** The first response with `requestId`, once it arrives. */
  async reply(requestId: number): Promise<Response> {
    await waitUntil(`a reply to request ${requestId}`, () => this.responses.some((r) => r.requestId === requestId));
    return this.responses.find((r) => r.requestId === requestId) as Response;
  }

  async waitClosed(): Promise<void> {
    await waitUntil("the server to close the connection", () => this.closed);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Runs `body` with a started server, stopping it however the body ends. */
export async function withServer(
  service: KvService,
  options: Partial<ClientPortOptionsInput>,
  body: (port: number, server: ClientPortServer, events: ClientPortEvent[]) => Promise<void>,
  security: PortSecurity = {},
): Promise<void> {
  const events: ClientPortEvent[] = [];
  const server = new ClientPortServer(service, { port: 0, statusJson: () => ({ fake: true }), ...options }, (event) => events.push(event), security);
  const { port } = await server.start();
  try {
    await body(port, server, events);
  } finally {
    await server.stop();
  }
}

/** Runs `body` with a started server and one client past HELLO, closing both however the body ends. */
export async function withClient(
  service: KvService,
  options: Partial<ClientPortOptionsInput>,
  body: (client: RawClient, server: ClientPortServer, events: ClientPortEvent[]) => Promise<void>,
): Promise<void> {
  await withServer(service, options, async (port, server, events) => {
    const client = await RawClient.connect(port);
    try {
      await body(client, server, events);
    } finally {
      client.destroy();
    }
  });
}

export const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
export const put = (requestId: number, key: string, value: string) =>
  ({ kind: "write", requestId, command: { type: "put", key: utf8(key), value: utf8(value) } }) as const;
export const get = (requestId: number, key: string) => ({ kind: "get", requestId, key: utf8(key), consistency: "linearizable" }) as const;
export const text = (bytes: Uint8Array | undefined): string | undefined => (bytes === undefined ? undefined : new TextDecoder().decode(bytes));
