import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { WriteCommand } from "../../src/kv/index.js";
import { BinaryForwarder } from "../../src/server/forwarding.js";
import { BusyError, NotLeaderError, UnavailableError } from "../../src/server/errors.js";
import { NO_SCOPE } from "../../src/server/request-scope.js";
import { ClientAuth } from "../../src/server/auth/client-auth.js";
import { TokenStore } from "../../src/security/tokens.js";
import { RawClient, put as rawPut, waitUntil, withServer } from "../client/raw-client.js";
import type { RequestContext } from "../../src/trace/index.js";
import { FakeKvService } from "../support/fake-kv-service.js";
import { forwarderTo } from "../support/forwarder.js";
import { InProcessCluster } from "../support/in-process-cluster.js";
import { LineSocket } from "../support/line-socket.js";
import { countWritesTo, nextTurn } from "../support/socket-writes.js";
import { connect, createServer, type AddressInfo, type Socket } from "node:net";
import { FrameDecoder, decodeRequest, encodeResponse, type Request, type Response } from "../../src/protocol/index.js";

/**
 * Issue 17: followers forward to the leader over the binary client protocol (it was JSON
 * with base64 values over HTTP, its HTTP codes parsed back into error classes). A
 * follower's forwarder against a real client port whose service a test holds and flips;
 * then a real cluster, where a client that reaches only a follower writes exactly once.
 */
const utf8 = new TextEncoder();
const TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const put = (key: string, value: string): WriteCommand => ({ type: "put", key: utf8.encode(key), value: utf8.encode(value) });


/** Holds every call of `service` until the returned release is called. */
function hold(service: FakeKvService): () => void {
  let release = (): void => undefined;
  service.gate = new Promise<void>((resolve) => { release = resolve; });
  return () => {
    service.gate = undefined;
    release();
  };
}

describe("a follower's forwarder over the binary protocol", () => {
  it("carries the request id and the caller's trace context in the frame's context, and the leader serves it under them", async () => {
    const leader = new FakeKvService();
    const served: { request: RequestContext; kind: string; clientName: string }[] = [];
    await withServer(leader, { onServed: (request) => served.push(request) }, async (port) => {
      const forwarder = forwarderTo(port);
      try {
        const scope = { requestId: "fwd-7", traceparent: TRACEPARENT, tracestate: "vendor=1" };
        const result = await forwarder.write(put("k", "v"), undefined, { request: scope });
        expect(result).toMatchObject({ ok: true });
        expect(await forwarder.getMany([utf8.encode("k")], 1000, NO_SCOPE)).toMatchObject({ kvs: [{ value: utf8.encode("v") }] });
        expect(served[0]).toEqual({ request: scope, kind: "write", result: "ok", clientName: "kvraft-member-2" });
        expect(served[1]?.kind).toBe("get");
        expect(served[1]?.request).not.toHaveProperty("traceparent");
      } finally {
        forwarder.close();
      }
    });
  });

  it("drops a frame's invalid traceparent (and the tracestate with it) as the HTTP API drops the headers, and serves the request", async () => {
    const served: { request: RequestContext }[] = [];
    await withServer(new FakeKvService(), { onServed: (request) => served.push(request) }, async (port) => {
      const client = await RawClient.connect(port);
      try {
        const bad = "00-00000000000000000000000000000000-00f067aa0ba902b7-01";
        client.send({ ...rawPut(2, "k", "v"), context: { requestId: "bad-trace", traceparent: bad, tracestate: "vendor=1" } });
        expect(await client.reply(2)).toMatchObject({ kind: "write-ok" });
        expect(served[0]?.request).toEqual({ requestId: "bad-trace" });
      } finally {
        client.destroy();
      }
    });
  });

  it("to a leader from before the trace context fields, forwards without them: its HELLO probe is refused, so it says HELLO again and the writes go on", async () => {
    const old = await oldLeader();
    const forwarder = forwarderTo(old.port);
    try {
      const scope = { requestId: "to-old", traceparent: TRACEPARENT, tracestate: "vendor=1" };
      for (let i = 0; i < 2; i++) expect(await forwarder.write(put("k", "v"), 2000, { request: scope })).toMatchObject({ ok: false, message: "from the old leader" });
      expect(old.served).toEqual([{ kind: "hello", traceContext: true }, { kind: "hello", traceContext: false }, { kind: "write", traceContext: false }, { kind: "write", traceContext: false }]);
    } finally {
      forwarder.close();
      await old.close();
    }
  });

  it("sends the writes its clients' connections brought in one pass of the event loop to the leader in one socket write, not one per connection", async () => {
    const leader = new FakeKvService();
    await withServer(leader, {}, async (port) => {
      const forwarder = forwarderTo(port);
      try {
        await forwarder.write(put("k0", "v"), 5000, NO_SCOPE); // the connection and its HELLO
        await countWritesTo(port, async (writes) => {
          // Each write starts in its own turn, as the requests of two client connections read in one pass do.
          const first = forwarder.write(put("k1", "v"), 5000, NO_SCOPE);
          await nextTurn();
          const second = forwarder.write(put("k2", "v"), 5000, NO_SCOPE);
          await expect(Promise.all([first, second])).resolves.toMatchObject([{ ok: true }, { ok: true }]);
          expect(writes()).toBe(1);
        });
        expect(leader.writes).toHaveLength(3);
      } finally {
        forwarder.close();
      }
    });
  });

  it("a leader change mid-forward answers a typed, retryable NotLeaderError naming the new leader", async () => {
    const leader = new FakeKvService();
    await withServer(leader, {}, async (port) => {
      const forwarder = forwarderTo(port);
      try {
        const release = hold(leader);
        const write = forwarder.write(put("k", "v"), 5000, NO_SCOPE);
        const outcome = write.then(() => undefined, (error: unknown) => error);
        await waitUntil("the leader to receive the forwarded write", () => leader.calls.length > 0);
        // The leader loses its term while the write waits: its port answers REDIRECT.
        leader.notLeader = { leader: { leaderId: 3, clientAddress: "127.0.0.1:1" } };
        release();
        const error = await outcome;
        expect(error).toBeInstanceOf(NotLeaderError);
        expect(error).toMatchObject({ retryable: true, code: "NOT_LEADER", leader: { leaderId: 3, clientAddress: "127.0.0.1:1" } });
        expect((error as Error).message).toMatch(/member 1, which this member forwarded to, is no longer the leader \(it names member 3\)/);
      } finally {
        forwarder.close();
      }
    });
  });

  it("a leader that goes away mid-forward answers a retryable UnavailableError, the next forward dials again, and none after close", async () => {
    const leader = new FakeKvService();
    let forwarder: BinaryForwarder | undefined;
    let outcome: Promise<unknown> | undefined;
    await withServer(leader, {}, async (port) => {
      forwarder = forwarderTo(port);
      hold(leader);
      outcome = forwarder.write(put("k", "v"), 5000, NO_SCOPE).then(() => undefined, (error: unknown) => error);
      await waitUntil("the leader to receive the forwarded write", () => leader.calls.length > 0);
    });
    try {
      const error = await outcome;
      expect(error).toBeInstanceOf(UnavailableError);
      expect(error).toMatchObject({ retryable: true, code: "UNAVAILABLE" });
      expect((error as Error).message).toMatch(/a write retried with the same session and seq is applied once/);
      await expect(forwarder?.write(put("k", "v"), 1000, NO_SCOPE)).rejects.toMatchObject({ code: "UNAVAILABLE", message: expect.stringMatching(/cannot connect/) });
      forwarder?.close();
      await expect(forwarder?.write(put("k", "v"), 1000, NO_SCOPE), "a stopping member dials no more").rejects.toMatchObject({ code: "UNAVAILABLE", message: expect.stringMatching(/stopping/) });
    } finally {
      forwarder?.close();
    }
  });

  it("forwardsInFlightMax bounds the forwards in flight: one more is answered BUSY at once", async () => {
    const leader = new FakeKvService();
    await withServer(leader, {}, async (port) => {
      const forwarder = forwarderTo(port, 1);
      try {
        const release = hold(leader);
        const first = forwarder.write(put("a", "1"), 5000, NO_SCOPE);
        await expect(forwarder.write(put("b", "2"), 5000, NO_SCOPE)).rejects.toBeInstanceOf(BusyError);
        release();
        await expect(first).resolves.toMatchObject({ ok: true });
        expect(leader.writes).toHaveLength(1);
      } finally {
        forwarder.close();
      }
    });
    expect(() => forwarderTo(1, 0)).toThrow(/forwardsInFlightMax: must be an integer in \[1, 65536\], got 0/);
  });

  it("a leader that refuses this member's HELLO (it cannot tell a member) is a retryable NotLeaderError naming it, not the caller's fault", async () => {
    const leader = new FakeKvService();
    const auth = new ClientAuth(TokenStore.single("a-token-of-this-cluster-0123456789", { name: "alice", role: "read-write" }, "test"), false);
    await withServer(leader, {}, async (port) => {
      const forwarder = forwarderTo(port);
      try {
        const error = await forwarder.write(put("k", "v"), 5000, NO_SCOPE).then(() => undefined, (thrown: unknown) => thrown);
        expect(error).toBeInstanceOf(NotLeaderError);
        expect(error).toMatchObject({ retryable: true, leader: { leaderId: 1, clientAddress: `127.0.0.1:${port}` } });
        expect((error as Error).message).toMatch(/member 1 leads and refused this member's forwarded requests/);
        expect(leader.calls).toEqual([]);
      } finally {
        forwarder.close();
      }
    }, { auth });
  });
});

describe("a cluster: a client that reaches only a follower", () => {
  let cluster: InProcessCluster;
  let leader: number;
  let follower: number;
  beforeAll(async () => {
    cluster = await InProcessCluster.create(3);
    await cluster.startAll();
    leader = await cluster.waitForLeader();
    follower = [1, 2, 3].find((id) => id !== leader) as number;
  }, 60_000);
  afterAll(async () => {
    await cluster?.stopAll();
  });

  it("registers its session through the follower, and a retried write (same session and seq) is applied once", async () => {
    const client = await RawClient.connect(cluster.ports.get(follower)?.client as number, true, true);
    try {
      client.send({ kind: "register-session", requestId: 2 });
      const session = await client.reply(2);
      expect(session.kind).toBe("session-ok");
      const sessionId = (session as { sessionId: number }).sessionId;
      const command: WriteCommand = { ...put("once", "v"), session: { sessionId, seq: 1, lowestUnackedSeq: 1 } };
      // The second send is the client's retry after, say, a lost reply: the same session and seq.
      client.send({ kind: "write", requestId: 3, command }, { kind: "write", requestId: 4, command });
      const [first, retry] = [await client.reply(3), await client.reply(4)];
      expect(first).toMatchObject({ kind: "write-ok", result: { ok: true } });
      expect(retry).toEqual({ ...first, requestId: 4 });
      const onLeader = await RawClient.connect(cluster.ports.get(leader)?.client as number);
      try {
        onLeader.send({ kind: "get", requestId: 2, key: utf8.encode("once"), consistency: "linearizable" });
        const got = await onLeader.reply(2);
        expect(got.kind).toBe("get-ok");
        // Written once: a second apply of the retry would have moved the version past the one that created the key.
        const kv = (got as { kv?: { version: number; createVersion: number } }).kv;
        expect(kv?.version).toBe(kv?.createVersion);
      } finally {
        onLeader.destroy();
      }
    } finally {
      client.destroy();
    }
  });

  it("memcached and HTTP writes on the follower take the same path to the leader", async () => {
    const socket = connect({ host: "127.0.0.1", port: cluster.ports.get(follower)?.memcached as number });
    await new Promise<void>((resolve, reject) => { socket.once("connect", resolve); socket.once("error", reject); });
    const memcached = new LineSocket(socket);
    try {
      expect(await memcached.send("set by-memcached 0 0 1\r\nm\r\n")).toBe("STORED\r\n");
    } finally {
      socket.destroy();
    }
    expect((await fetch(`${cluster.http(follower)}/v1/kv/by-http`, { method: "PUT", body: "h" })).status).toBe(200);
    expect(await (await fetch(`${cluster.http(leader)}/v1/kv/by-memcached`)).text()).toBe("m");
    expect(await (await fetch(`${cluster.http(follower)}/v1/kv/by-http`)).text()).toBe("h");
  });

  it("the JSON forwarding endpoint is gone: POST /v1/internal/forward answers 404", async () => {
    const response = await fetch(`${cluster.http(leader)}/v1/internal/forward`, {
      method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ op: "get", keys: [] }),
    });
    expect(response.status).toBe(404);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("NOT_FOUND");
  });
});

/**
 * A client port as a member from before the trace context fields answers: a request whose
 * context sets them is refused INVALID_ARGUMENT (unknown flags) and the stream goes on;
 * HELLO and writes are answered. Records what it was sent.
 */
async function oldLeader(): Promise<{ port: number; served: { kind: string; traceContext: boolean }[]; close: () => Promise<void> }> {
  const served: { kind: string; traceContext: boolean }[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    const decoder = new FrameDecoder(1024 * 1024);
    socket.on("data", (chunk: Buffer) => {
      decoder.push(chunk);
      for (let frame = decoder.next(); frame !== undefined; frame = decoder.next()) {
        const request = decodeRequest(frame);
        const traceContext = request.context?.traceparent !== undefined;
        served.push({ kind: request.kind, traceContext });
        socket.write(encodeResponse(oldLeaderReply(request, traceContext)));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const close = async (): Promise<void> => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return { port, served, close };
}

function oldLeaderReply(request: Request, traceContext: boolean): Response {
  const { requestId } = request;
  if (traceContext) return { kind: "error", requestId, code: "INVALID_ARGUMENT", retryable: false, message: "unknown request context flags 0x4" };
  if (request.kind === "hello") return { kind: "hello-ok", requestId, serverVersion: "old", memberId: 1, leader: { leaderId: 1 }, frameBytesMax: 1024 * 1024, inFlightMax: 16 };
  return { kind: "write-ok", requestId, result: { ok: false, revision: 1, error: "not-found", message: "from the old leader" } };
}
