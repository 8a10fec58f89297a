import type { TLSSocket } from "node:tls";
import fc from "fast-check";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FrameDecoder, decodeResponse, encodeRequest, type Request, type Response } from "../../src/protocol/index.js";
import { validateClientLimits } from "../../src/server/client-limits.js";
import { startServer } from "../../src/server/server.js";
import { request as anyRequest } from "../protocol/arbitraries.js";
import { SecureCluster } from "../support/secure-cluster.js";
import { waitFor } from "../support/wait.js";

/**
 * Issue 15: the plain binary and memcached ports are fuzzed (test/memcached/fuzz.test.ts,
 * test/protocol); these are the same ports behind TLS and authentication. Random bytes,
 * frames and lines go over a TLS connection to one in-process member: after an
 * authenticated connection sends them, the member is up and a good client is served; a
 * connection that never authenticates gets errors only, never a stored value, and is
 * closed. Seeded (FUZZ_SEED; fast-check prints the seed and path of a failure).
 */
const SEED = Number(process.env["FUZZ_SEED"] ?? 15);
const NUM_RUNS = 40;
const RW = "readwrite-token-0123456789abcdef";
const TOKENS = `${RW},alice,read-write\n`;
const SECRET = "secret-value-7f1a9c2e";
/** Short, so that a connection that never says HELLO is closed soon (the HELLO deadline). */
const HANDSHAKE_TIMEOUT_MS = 500;
const GARBAGE_BYTES_MAX = 600;
const utf8 = new TextEncoder();

let cluster: SecureCluster;
beforeAll(async () => {
  cluster = await SecureCluster.create(1, { tls: true, tokens: TOKENS });
  cluster.servers.set(1, await startServer({ ...cluster.config(1), clientLimits: validateClientLimits({ handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS }) }, pino({ level: "silent" })));
  await cluster.waitForLeader();
  expect((await cluster.request(1, "PUT", "/v1/kv/secret", { token: RW }, SECRET)).status).toBeLessThan(300);
}, 30_000);
afterAll(async () => {
  await cluster?.stop();
});

/** What a TLS connection received, and whether the member closed it. */
class Received {
  text = "";
  closed = false;
  constructor(readonly socket: TLSSocket) {
    socket.on("data", (chunk: Buffer) => { this.text += chunk.toString("latin1"); });
    socket.on("close", () => { this.closed = true; });
    socket.on("error", () => undefined);
  }

  async closedByMember(what: string): Promise<void> {
    await waitFor(`the member to close ${what}`, () => (this.closed ? true : undefined), 5000);
  }
}

const randomBytes = fc.uint8Array({ maxLength: GARBAGE_BYTES_MAX });

describe("the TLS binary client port under random bytes and frames", () => {
  /** Requests encoded as frames, then bytes flipped, cut or inserted. */
  const garbledFrames = fc.tuple(
    fc.array(anyRequest, { minLength: 1, maxLength: 4 }),
    fc.array(fc.record({ at: fc.nat(), kind: fc.constantFrom("cut", "replace", "insert"), byte: fc.integer({ min: 0, max: 255 }) }), { maxLength: 3 }),
  ).map(([requests, mutations]) => {
    let bytes = Buffer.concat(requests.map((request) => encodeRequest(request)));
    for (const { at, kind, byte } of mutations) {
      const i = at % (bytes.length + 1);
      if (kind === "cut") bytes = bytes.subarray(0, i);
      else if (kind === "replace" && i < bytes.length) bytes[i] = byte;
      else bytes = Buffer.concat([bytes.subarray(0, i), Buffer.of(byte), bytes.subarray(i)]);
    }
    return new Uint8Array(bytes);
  });
  const garbage = fc.oneof(randomBytes, garbledFrames);

  function repliesOf(text: string): Response[] {
    const decoder = new FrameDecoder(1 << 20);
    decoder.push(Buffer.from(text, "latin1"));
    const replies: Response[] = [];
    for (let frame = decoder.next(); frame !== undefined; frame = decoder.next()) replies.push(decodeResponse(frame));
    return replies;
  }

  async function call(connection: Received, request: Request): Promise<Response> {
    connection.socket.write(encodeRequest(request));
    return waitFor(`the reply to ${request.kind}`, () => repliesOf(connection.text).find((reply) => reply.requestId === request.requestId), 5000, 5);
  }

  /** A new authenticated client writes and reads back. */
  async function goodClientServed(run: number): Promise<void> {
    const good = new Received(await cluster.dialTls(1, "client"));
    try {
      expect((await call(good, { kind: "hello", requestId: 1, clientName: "good", forward: false, token: RW })).kind).toBe("hello-ok");
      const key = utf8.encode(`after-fuzz-${run}`);
      expect((await call(good, { kind: "write", requestId: 2, command: { type: "put", key, value: utf8.encode("ok") } })).kind).toBe("write-ok");
      expect((await call(good, { kind: "get", requestId: 3, key, consistency: "linearizable" })).kind).toBe("get-ok");
    } finally {
      good.socket.destroy();
    }
  }

  it("after an authenticated connection sends garbage, the member serves a good client", async () => {
    let run = 0;
    await fc.assert(fc.asyncProperty(garbage, async (bytes) => {
      run++;
      const fuzzer = new Received(await cluster.dialTls(1, "client"));
      try {
        expect((await call(fuzzer, { kind: "hello", requestId: 1, clientName: "fuzzer", forward: false, token: RW })).kind).toBe("hello-ok");
        fuzzer.socket.write(bytes);
        await goodClientServed(run);
      } finally {
        fuzzer.socket.destroy();
      }
    }), { seed: SEED, numRuns: NUM_RUNS, timeout: 15_000 });
    expect(cluster.servers.get(1)?.status().role).toBe("leader");
  }, 120_000);

  it("a connection that never authenticates gets errors only, never data, and is closed", async () => {
    await fc.assert(fc.asyncProperty(garbage, async (bytes) => {
      const stranger = new Received(await cluster.dialTls(1, "client"));
      try {
        stranger.socket.write(bytes);
        stranger.socket.write(encodeRequest({ kind: "get", requestId: 7, key: utf8.encode("secret"), consistency: "linearizable" }));
        await stranger.closedByMember("an unauthenticated connection");
        expect(stranger.text).not.toContain(SECRET);
        for (const reply of repliesOf(stranger.text)) expect(reply.kind).toBe("error");
      } finally {
        stranger.socket.destroy();
      }
    }), { seed: SEED, numRuns: NUM_RUNS, timeout: 15_000 });
  }, 120_000);
});

describe("the TLS memcached port under random bytes and lines", () => {
  /** Storage data blocks are at most 99 + 2 bytes after sanitize(): this resynchronises past one. */
  const RESYNC = "\r\n".repeat(60);
  const TEMPLATES = ["set k 1 0 3\r\nabc\r\n", "get secret k\r\n", "gets secret\r\n", "delete k\r\n", "incr n 5\r\n", "touch k 10\r\n", "flush_all\r\n", "stats\r\n", "set auth 0 0 5\r\nnope!\r\n", "mg secret v\r\n", "version\r\n"];
  const asText = (bytes: Uint8Array): string => Buffer.from(bytes).toString("latin1");
  /** Digit runs cut to two digits (no data block longer than RESYNC), and no quit inside the garbage. */
  const sanitize = (text: string): string => text.replace(/\d{3,}/g, (digits) => digits.slice(0, 2)).replace(/quit/g, "quiz");
  const garbledLines = fc.tuple(
    fc.array(fc.constantFrom(...TEMPLATES), { minLength: 1, maxLength: 5 }),
    fc.array(fc.record({ at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }), { maxLength: 3 }),
  ).map(([lines, flips]) => {
    let text = lines.join("");
    for (const { at, byte } of flips) {
      const i = at % (text.length + 1);
      text = text.slice(0, i) + String.fromCharCode(byte) + text.slice(i + 1);
    }
    return text;
  });
  const garbage = fc.oneof(randomBytes.map(asText), garbledLines).map(sanitize);

  async function authenticated(): Promise<Received> {
    const connection = new Received(await cluster.dialTls(1, "memcached"));
    connection.socket.write(`set auth 0 0 ${RW.length + 6}\r\nalice ${RW}\r\n`);
    await waitFor("the authentication set's STORED", () => (connection.text === "STORED\r\n" ? true : undefined), 5000, 5);
    connection.text = "";
    return connection;
  }

  it("after an authenticated connection sends garbage, the member serves a good client", async () => {
    let run = 0;
    await fc.assert(fc.asyncProperty(garbage, async (text) => {
      run++;
      const fuzzer = await authenticated();
      try {
        fuzzer.socket.write(text);
        const good = await authenticated();
        try {
          good.socket.write(`set after-fuzz-${run} 0 0 2\r\nok\r\nget after-fuzz-${run}\r\n`);
          await waitFor("the good client's replies", () => (good.text.endsWith("END\r\n") ? true : undefined), 5000, 5);
          expect(good.text).toBe(`STORED\r\nVALUE after-fuzz-${run} 0 2\r\nok\r\nEND\r\n`);
        } finally {
          good.socket.destroy();
        }
      } finally {
        fuzzer.socket.destroy();
      }
    }), { seed: SEED, numRuns: NUM_RUNS, timeout: 15_000 });
    expect(cluster.servers.get(1)?.status().role).toBe("leader");
  }, 120_000);

  it("a connection that never authenticates gets errors only, never data", async () => {
    await fc.assert(fc.asyncProperty(garbage, async (text) => {
      const stranger = new Received(await cluster.dialTls(1, "memcached"));
      try {
        stranger.socket.write(`${text}${RESYNC}get secret\r\nquit\r\n`);
        await stranger.closedByMember("an unauthenticated connection after quit");
        expect(stranger.text).not.toContain(SECRET);
        for (const line of stranger.text.split("\r\n").slice(0, -1)) expect(line).toMatch(/^(ERROR|CLIENT_ERROR .+|SERVER_ERROR .+)$/);
      } finally {
        stranger.socket.destroy();
      }
    }), { seed: SEED, numRuns: NUM_RUNS, timeout: 15_000 });
  }, 120_000);
});
