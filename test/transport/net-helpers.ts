/**
 * Helpers for transport tests on loopback: transports that record what they receive,
 * condition waits with deadlines, a proxy whose connections a test can cut, and a peer
 * that completes the handshake and then stops reading. Everything a test starts is
 * registered with a `Cleanup` and stopped after the test, even when it fails.
 */
import * as net from "node:net";
import type { Message } from "../../src/raft/messages.js";
import type { NodeId } from "../../src/raft/types.js";
import {
  decodeHello, decodeMessage, encodeHelloAck, FrameDecoder, FrameType, type Hello, TcpTransport, type TransportEvent,
  type TransportOptions,
} from "../../src/transport/index.js";

export const HOST = "127.0.0.1";
/** Deadline of a condition wait: generous, since a loaded CI machine may be slow. */
export const WAIT_MS_MAX = 10_000;
/** Pause between two checks of a condition. */
const POLL_MS = 5;
export const CLUSTER_ID = "test-cluster";

/** Resolves once `condition()` holds; rejects naming `what` if it does not within the deadline. */
export async function waitFor(what: string, condition: () => boolean, timeoutMs = WAIT_MS_MAX): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** Stops what a test started, newest first; every stop runs even when an earlier one fails. */
export class Cleanup {
  private readonly stops: (() => Promise<void> | void)[] = [];

  add(stop: () => Promise<void> | void): void {
    this.stops.push(stop);
  }

  async run(): Promise<void> {
    const errors: unknown[] = [];
    for (const stop of this.stops.splice(0).reverse()) {
      try {
        await stop();
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length > 0) throw new AggregateError(errors, "cleanup failed");
  }
}

export interface TestNode {
  readonly id: NodeId;
  readonly transport: TcpTransport;
  readonly port: number;
  readonly messages: Message[];
  readonly events: TransportEvent[];
  eventsOf<T extends TransportEvent["type"]>(type: T): Extract<TransportEvent, { type: T }>[];
}

/** A started transport that records the messages and events it gets. */
export async function startNode(cleanup: Cleanup, options: Partial<TransportOptions> & { selfId: NodeId }): Promise<TestNode> {
  const messages: Message[] = [];
  const events: TransportEvent[] = [];
  const transport = new TcpTransport(
    { clusterId: CLUSTER_ID, listenHost: HOST, listenPort: 0, reconnectDelayMsMin: 20, reconnectDelayMsMax: 200, ...options },
    { onMessage: (m) => messages.push(m), onEvent: (e) => events.push(e) },
  );
  cleanup.add(() => transport.stop());
  const { port } = await transport.start();
  const eventsOf = <T extends TransportEvent["type"]>(type: T): Extract<TransportEvent, { type: T }>[] =>
    events.filter((e): e is Extract<TransportEvent, { type: T }> => e.type === type);
  return { id: options.selfId, transport, port, messages, events, eventsOf };
}

/** Nodes 1..count, each knowing every other's address. */
export async function startCluster(cleanup: Cleanup, count: number, options: Partial<TransportOptions> = {}): Promise<TestNode[]> {
  const nodes: TestNode[] = [];
  for (let id = 1; id <= count; id++) nodes.push(await startNode(cleanup, { ...options, selfId: id }));
  for (const node of nodes) {
    node.transport.setPeers(nodes.filter((other) => other !== node).map((other) => ({ id: other.id, host: HOST, port: other.port })));
  }
  return nodes;
}

/** A port that was free a moment ago, for a peer that starts later. */
export async function reservePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A raw TCP server that the test controls socket by socket. */
export async function startRawServer(cleanup: Cleanup, onSocket: (socket: net.Socket) => void): Promise<{ port: number; sockets: Set<net.Socket> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => undefined); // the test destroys these sockets on purpose
    onSocket(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  cleanup.add(async () => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of sockets) socket.destroy();
    await closed;
  });
  return { port: (server.address() as net.AddressInfo).port, sockets };
}

/** Forwards connections to `targetPort`; `cut()` destroys every connection through it. */
export async function startProxy(cleanup: Cleanup, targetPort: number): Promise<{ port: number; cut(): void; connections(): number }> {
  const pairs = new Set<[net.Socket, net.Socket]>();
  const { port, sockets } = await startRawServer(cleanup, (client) => {
    const upstream = net.connect(targetPort, HOST);
    const pair: [net.Socket, net.Socket] = [client, upstream];
    pairs.add(pair);
    upstream.on("error", () => undefined);
    const close = (): void => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("close", close);
    upstream.on("close", close);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  cleanup.add(() => {
    for (const [client, upstream] of pairs) {
      client.destroy();
      upstream.destroy();
    }
  });
  return {
    port,
    cut: () => {
      for (const socket of sockets) socket.destroy();
    },
    connections: () => pairs.size,
  };
}

/**
 * Member `id` as far as the handshake goes: it accepts any HELLO, answers HELLO_ACK and
 * then stops reading, like a peer stuck in a long pause. `resume()` reads on and decodes
 * what was sent, in order, into `messages`.
 */
export async function startStallingPeer(cleanup: Cleanup, id: NodeId): Promise<{
  port: number; hellos: Hello[]; messages: Message[]; stalled(): boolean; resume(): void;
}> {
  const hellos: Hello[] = [];
  const messages: Message[] = [];
  const stalledSockets = new Set<net.Socket>();
  const { port } = await startRawServer(cleanup, (socket) => {
    const decoder = new FrameDecoder(64 * 1024 * 1024);
    socket.on("data", (chunk: Buffer) => {
      decoder.push(chunk);
      for (let frame = decoder.next(); frame !== undefined; frame = decoder.next()) {
        if (frame.type === FrameType.Raft) {
          messages.push(decodeMessage(frame.payload));
        } else if (frame.type === FrameType.Hello) {
          hellos.push(decodeHello(frame.payload));
          socket.write(encodeHelloAck(id));
          socket.pause();
          stalledSockets.add(socket);
          return;
        }
      }
    });
  });
  return {
    port,
    hellos,
    messages,
    stalled: () => stalledSockets.size > 0,
    resume: () => {
      for (const socket of stalledSockets) socket.resume();
      stalledSockets.clear();
    },
  };
}
