import { mkdtemp, rm } from "node:fs/promises";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeResponse, encodeRequest, FrameDecoder } from "../../src/protocol/index.js";
import { validateClientLimits } from "../../src/server/client-limits.js";
import { EXPIRY_TICK_INTERVAL_MS_DEFAULT, type ServerConfig } from "../../src/server/config.js";
import { type RunningServer, startServer } from "../../src/server/server.js";
import { freePorts } from "../support/ports.js";
import { waitFor } from "../support/wait.js";

/** What one client did to a member at once in the attack: more idle sockets than a port's connectionsMax (1024). */
const FLOOD_CONNECTIONS = 1100;
/** The default --connections-per-address-max. */
const PER_ADDRESS_MAX = 256;
/** All of 127.0.0.0/8 is loopback on Linux: the attacker and the good client differ by source address only. */
const ATTACKER = "127.0.0.2";
const GOOD_CLIENT = "127.0.0.1";
const FLOOD_BATCH = 200;
const HEADERS_TIMEOUT_MS = 1000;

interface FloodSocket {
  readonly socket: Socket;
  received: string;
  connected: boolean;
  closed: boolean;
}

/**
 * Opens `count` idle sockets from `localAddress` into `sockets` (the caller destroys them) and records what each receives. They
 * go out in batches below the listen backlog (511): a thousand SYNs at once overflow the
 * accept queue, and the kernel then takes the rest seconds later, as a real flood would
 * see but a test with a deadline should not wait for. After each batch, every socket
 * past the per-address limit has been refused and closed.
 */
async function flood(sockets: FloodSocket[], port: number, count: number, localAddress: string): Promise<void> {
  while (sockets.length < count) {
    const batch = Array.from({ length: Math.min(FLOOD_BATCH, count - sockets.length) }, () => {
      const socket = connect({ host: "127.0.0.1", port, localAddress });
      const entry: FloodSocket = { socket, received: "", connected: false, closed: false };
      socket.on("connect", () => { entry.connected = true; });
      socket.on("data", (chunk: Buffer) => { entry.received += chunk.toString("latin1"); });
      socket.on("close", () => { entry.closed = true; });
      socket.on("error", () => undefined);
      return entry;
    });
    sockets.push(...batch);
    const refusedExpected = Math.max(0, sockets.length - PER_ADDRESS_MAX);
    await waitFor(`${sockets.length} sockets connected and ${refusedExpected} of them refused`, async () => {
      const closed = sockets.filter((s) => s.closed).length;
      return sockets.every((s) => s.connected || s.closed) && closed === refusedExpected ? true : undefined;
    }, 10_000, 10);
  }
}

/** The member's answer to the flood: PER_ADDRESS_MAX sockets held, the rest refused. */
function outcome(sockets: readonly FloodSocket[]): { open: FloodSocket[]; refused: FloodSocket[] } {
  return { open: sockets.filter((s) => !s.closed), refused: sockets.filter((s) => s.closed) };
}

function destroyAll(sockets: readonly FloodSocket[]): void {
  for (const { socket } of sockets) socket.destroy();
}

/** One round trip on the binary port from `localAddress`: HELLO answered HELLO_OK. */
async function binaryHello(port: number, localAddress: string): Promise<string> {
  const socket = connect({ host: "127.0.0.1", port, localAddress });
  try {
    const decoder = new FrameDecoder(1024 * 1024);
    return await new Promise<string>((resolve, reject) => {
      socket.on("error", reject);
      socket.on("close", () => reject(new Error("closed before HELLO_OK")));
      socket.on("data", (chunk: Buffer) => {
        decoder.push(chunk);
        const frame = decoder.next();
        if (frame !== undefined) resolve(decodeResponse(frame).kind);
      });
      socket.write(encodeRequest({ kind: "hello", requestId: 1, clientName: "good", forward: false }));
    });
  } finally {
    socket.destroy();
  }
}

/** One memcached `version` from `localAddress`. */
async function memcachedVersion(port: number, localAddress: string): Promise<string> {
  const socket = connect({ host: "127.0.0.1", port, localAddress });
  try {
    return await new Promise<string>((resolve, reject) => {
      let text = "";
      socket.on("error", reject);
      socket.on("data", (chunk: Buffer) => {
        text += chunk.toString("latin1");
        if (text.endsWith("\r\n")) resolve(text.trim());
      });
      socket.write("version\r\n");
    });
  } finally {
    socket.destroy();
  }
}

/** GET /v1/status from `localAddress`: the status code. */
async function httpStatus(port: number, localAddress: string): Promise<string> {
  const response = await fetch(`http://${localAddress}:${port}/v1/status`, { signal: AbortSignal.timeout(5000) });
  await response.arrayBuffer();
  return String(response.status);
}

describe("client ports: 1,100 idle connections from one address do not lock out another (issue 15)", () => {
  let root: string;
  let server: RunningServer;
  let ports: { peer: number; http: number; memcached: number; client: number };
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "kvraft-floods-"));
    const [peer, http, memcached, client] = await freePorts(4) as [number, number, number, number];
    ports = { peer, http, memcached, client };
    const config: ServerConfig = {
      id: 1, dataDir: join(root, "member-1"), peers: new Map([[1, { host: "127.0.0.1", port: peer }]]),
      initialClusterState: "new", clusterId: undefined, listenHost: "127.0.0.1",
      peerPort: peer, clientPort: client, httpPort: http, memcachedPort: memcached, adminPort: undefined, advertise: {}, coordinator: undefined,
      tickMs: 50, heartbeatTicks: 1, electionTicks: 10, adminToken: undefined,
      tls: { client: undefined, peer: undefined }, tokens: undefined, memcachedFlushAll: "admin",
      quotaBytes: 0, requestTimeoutMs: 2000, snapshotEveryEntries: 10_000, readyLagEntriesMax: 1000, pendingProposalsMax: 65536,
      shutdownTransferMs: 0, expiryTickIntervalMsMin: EXPIRY_TICK_INTERVAL_MS_DEFAULT,
      // Every limit at its default but the headers timeout (10 s), shortened to keep the slowloris test quick.
      clientLimits: validateClientLimits({ httpHeadersTimeoutMs: HEADERS_TIMEOUT_MS }),
    };
    server = await startServer(config, pino({ level: "silent" }));
    await waitFor("member 1 to lead", async () => (server.status().leaderId === 1 ? true : undefined), 10_000);
  }, 30_000);
  afterAll(async () => {
    await server?.shutdown("test over");
    await rm(root, { recursive: true, force: true });
  });

  /** Per port: its refusal in its own protocol, and one request of a client from another address. */
  const portCases = [
    { port: "client", refusal: /connectionsPerAddressMax/, served: () => binaryHello(ports.client, GOOD_CLIENT), answer: /^hello-ok$/ },
    { port: "memcached", refusal: /^SERVER_ERROR too many open connections from your address\r\n$/, served: () => memcachedVersion(ports.memcached, GOOD_CLIENT), answer: /^VERSION / },
    { port: "http", refusal: /^HTTP\/1\.1 503 .*connections-per-address-max/s, served: () => httpStatus(ports.http, GOOD_CLIENT), answer: /^200$/ },
  ] as const;

  it.each(portCases)("$port port: the 257th connection from one address is refused in the protocol's words; another address is still served", async ({ port, refusal, served, answer }) => {
    const sockets: FloodSocket[] = [];
    try {
      await flood(sockets, ports[port], FLOOD_CONNECTIONS, ATTACKER);
      const { open, refused } = outcome(sockets);
      expect(open).toHaveLength(PER_ADDRESS_MAX);
      expect(refused[0]?.received).toMatch(refusal);
      expect(await served()).toMatch(answer);
    } finally {
      destroyAll(sockets);
    }
  }, 30_000);

  it("HTTP port: a request whose headers never finish (slowloris) is closed by the headers timeout", async () => {
    // --http-headers-timeout-ms (node's own default is 60 s, checked every 30 s).
    const socket = connect({ host: "127.0.0.1", port: ports.http });
    let received = "";
    let closed = false;
    socket.on("data", (chunk: Buffer) => { received += chunk.toString("latin1"); });
    socket.on("close", () => { closed = true; });
    socket.on("error", () => undefined);
    try {
      socket.write("GET /v1/status HTTP/1.1\r\nHost: member\r\nX-Slow: ");
      const startedMs = Date.now();
      await waitFor("the member to close a request whose headers never end", async () => (closed ? true : undefined), 10 * HEADERS_TIMEOUT_MS);
      expect(Date.now() - startedMs).toBeLessThan(5 * HEADERS_TIMEOUT_MS);
      expect(received).toMatch(/^HTTP\/1\.1 408/);
    } finally {
      socket.destroy();
    }
  }, 20_000);
});
