import { connect as netConnect, type Socket } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ClientAuth } from "../../src/server/auth/client-auth.js";
import { MemcachedAuthGate } from "../../src/server/memcached/auth-gate.js";
import { REPLIES, serializeReply } from "../../src/server/memcached/replies.js";
import type { Request } from "../../src/server/memcached/requests.js";
import { LineSocket } from "../support/line-socket.js";
import { SecureCluster, type As } from "../support/secure-cluster.js";
import { waitFor } from "../support/wait.js";

/**
 * Issue 15: one memcached `flush_all` from anyone emptied the whole store. The port now
 * speaks TLS, authenticates the way memcached 1.6 does with -Y (a `set` whose value is
 * "<name> <token>"), and keeps flush_all to the admin role.
 */
const RO = "readonly-token-0123456789abcdef";
const RW = "readwrite-token-0123456789abcdef";
const ADMIN = "admin-token-0123456789abcdef0123";
const TOKENS = `${RO},rita,read-only\n${RW},alice,read-write\n${ADMIN},root,admin\n`;
const END = /END\r\n$|ERROR.*\r\n$/;

const authSet = (value: string): string => `set auth 0 0 ${Buffer.byteLength(value)}\r\n${value}\r\n`;
const setCommand = (key: string, value: string): string => `set ${key} 0 0 ${Buffer.byteLength(value)}\r\n${value}\r\n`;

describe("memcached over TLS with tokens", () => {
  let cluster: SecureCluster;
  const sockets: LineSocket[] = [];
  beforeAll(async () => {
    cluster = await SecureCluster.started(1, { tls: true, tokens: TOKENS });
  }, 30_000);
  afterEach(() => {
    cluster.closeSockets();
    for (const socket of sockets.splice(0)) socket.close();
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  const dial = async (as: As = {}): Promise<LineSocket> => new LineSocket(await cluster.dialTls(1, "memcached", as));

  it("answers every command CLIENT_ERROR unauthenticated until the authentication set", async () => {
    const conn = await dial();
    expect(await conn.send("get greeting\r\n")).toBe("CLIENT_ERROR unauthenticated\r\n");
    expect(await conn.send("flush_all\r\n")).toBe("CLIENT_ERROR unauthenticated\r\n");
    expect(await conn.send(authSet("alice not-alices-token-0123456789"))).toBe("CLIENT_ERROR authentication failure\r\n");
    expect(await conn.send(authSet(`rita ${RW}`))).toBe("CLIENT_ERROR authentication failure\r\n");
    expect(await conn.send(authSet(`alice ${RW}`))).toBe("STORED\r\n");
    expect(await conn.send(setCommand("greeting", "hello"))).toBe("STORED\r\n");
    expect(await conn.send("get greeting\r\n", END)).toBe("VALUE greeting 0 5\r\nhello\r\nEND\r\n");
    // The bare-token form works too.
    const other = await dial();
    expect(await other.send(authSet(RO))).toBe("STORED\r\n");
    expect(await other.send("get greeting\r\n", END)).toBe("VALUE greeting 0 5\r\nhello\r\nEND\r\n");
    expect(await other.send(setCommand("greeting", "changed"))).toBe("CLIENT_ERROR forbidden: token 'rita' has role read-only; set needs read-write\r\n");
  });

  it("refuses flush_all without the admin role, and the data stays", async () => {
    const writer = await dial();
    expect(await writer.send(authSet(`alice ${RW}`))).toBe("STORED\r\n");
    expect(await writer.send(setCommand("keep", "me"))).toBe("STORED\r\n");
    expect(await writer.send("flush_all\r\n")).toBe("CLIENT_ERROR forbidden: token 'alice' has role read-write; flush_all needs admin\r\n");
    expect(await writer.send("flush_all noreply\r\n")).toMatch(/^CLIENT_ERROR forbidden/);
    expect(await writer.send("get keep\r\n", END)).toBe("VALUE keep 0 2\r\nme\r\nEND\r\n");
    const http = await cluster.request(1, "GET", "/v1/kv/keep", { token: RO });
    expect(http.text).toBe("me");
    const admin = await dial();
    expect(await admin.send(authSet(`root ${ADMIN}`))).toBe("STORED\r\n");
    expect(await admin.send("flush_all\r\n")).toBe("OK\r\n");
    expect(await admin.send("get keep\r\n", END)).toBe("END\r\n");
  });

  it("takes a client certificate's role without the set", async () => {
    const reader = await dial({ role: "read-only" });
    expect(await reader.send("get nothing\r\n", END)).toBe("END\r\n");
    expect(await reader.send(setCommand("x", "y"))).toMatch(/^CLIENT_ERROR forbidden: certificate '.*' has role read-only; set needs read-write\r\n$/);
  });

  it("speaks only TLS: a plain client gets no memcached answer", async () => {
    const port = cluster.ports.get(1)?.memcached as number;
    const plain = new LineSocket(netConnect({ host: "127.0.0.1", port }));
    sockets.push(plain);
    plain.socket.write("version\r\n");
    await waitFor("the server to hang up on a plain client", () => (plain.closed ? true : undefined), 5000);
  });
});

describe("memcached flush_all without authentication", () => {
  let cluster: SecureCluster | undefined;
  afterAll(async () => {
    await cluster?.stop();
  });

  it("is refused when --memcached-flush-all is disabled, and the data stays", async () => {
    cluster = await SecureCluster.started(1, { tls: false, memcachedFlushAll: "disabled" });
    const conn = new LineSocket(netConnect({ host: "127.0.0.1", port: cluster.ports.get(1)?.memcached as number }));
    try {
      expect(await conn.send(setCommand("keep", "me"))).toBe("STORED\r\n");
      expect(await conn.send("flush_all\r\n")).toBe("CLIENT_ERROR flush_all is disabled on this server (--memcached-flush-all disabled)\r\n");
      expect(await conn.send("get keep\r\n", END)).toBe("VALUE keep 0 2\r\nme\r\nEND\r\n");
    } finally {
      conn.close();
    }
  }, 30_000);

  it("with role admin and nobody authenticated, runs only for a loopback client", async () => {
    const open = new ClientAuth(undefined, false);
    const ran: Request[] = [];
    const execute = (request: Request): Promise<typeof REPLIES.ok> => {
      ran.push(request);
      return Promise.resolve(REPLIES.ok);
    };
    const flush: Request = { kind: "flush-all", delay: 0, noreply: false };
    const remote = new MemcachedAuthGate({ auth: open, flushAll: "admin" }, { remoteAddress: "10.1.2.3" } as Socket);
    const refusal = Buffer.from(serializeReply(await remote.execute(flush, execute))).toString();
    expect(refusal).toMatch(/^CLIENT_ERROR flush_all needs the admin role, and this server authenticates nobody: it is allowed from loopback only/);
    expect(ran).toEqual([]);
    const local = new MemcachedAuthGate({ auth: open, flushAll: "admin" }, { remoteAddress: "::ffff:127.0.0.1" } as Socket);
    expect(await local.execute(flush, execute)).toBe(REPLIES.ok);
    expect(ran).toEqual([flush]);
  });
});
