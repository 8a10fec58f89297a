import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FrameDecoder, decodeResponse, encodeRequest, type Request, type Response, type WireRequestContext } from "../../src/protocol/index.js";
import { CLUSTER_ID, SecureCluster, type As } from "../support/secure-cluster.js";
import { waitFor } from "../support/wait.js";

/**
 * Issue 15: the HTTP port had no TLS and no authentication, and /v1/internal/forward took
 * anyone's request. Each case below is an attack that worked on the old code. (Issue 17:
 * followers forward on the binary port now, naming their caller in the request context;
 * the JSON endpoint is gone.)
 */
const RO = "readonly-token-0123456789abcdef";
const RW = "readwrite-token-0123456789abcdef";
const ADMIN = "admin-token-0123456789abcdef0123";
const TOKENS = `${RO},rita,read-only\n${RW},alice,read-write\n${ADMIN},root,admin\n`;

const errorOf = (text: string): { code: string; message: string } => (JSON.parse(text) as { error: { code: string; message: string } }).error;
const FORWARD_PATH = "/v1/internal/forward";
const forwardedPut = (requestId: number, key: string, onBehalfOf?: string): Request => {
  const context: WireRequestContext = { requestId: `fwd-${requestId}`, ...(onBehalfOf === undefined ? {} : { onBehalfOf }) };
  return { kind: "write", requestId, command: { type: "put", key: new TextEncoder().encode(key), value: new TextEncoder().encode("x") }, context };
};

/**
 * HELLO (with `token`, if given) and `requests` on member `id`'s binary port as `as`;
 * answers the reply to each request, or to the HELLO when the server closed after it.
 */
async function binaryExchange(cluster: SecureCluster, id: number, as: As, token: string | undefined, requests: readonly Request[]): Promise<Response[]> {
  const socket = await cluster.dialTls(id, "client", as);
  const decoder = new FrameDecoder(1024 * 1024);
  const replies: Response[] = [];
  const wanted = new Set([1, ...requests.map((r) => r.requestId)]);
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no replies to ${[...wanted].join(", ")} within 5 s`)), 5000);
      const done = (): void => { clearTimeout(timer); resolve(); };
      socket.on("data", (chunk: Buffer) => {
        decoder.push(chunk);
        for (let frame = decoder.next(); frame !== undefined; frame = decoder.next()) {
          const reply = decodeResponse(frame);
          replies.push(reply);
          wanted.delete(reply.requestId);
        }
        if (wanted.size === 0) done();
      });
      socket.once("close", done);
      socket.write(encodeRequest({ kind: "hello", requestId: 1, clientName: "test", forward: false, ...(token === undefined ? {} : { token }) }));
      for (const request of requests) socket.write(encodeRequest(request));
    });
  } finally {
    socket.destroy();
  }
  return replies;
}
const replyTo = (replies: readonly Response[], requestId: number): Response | undefined => replies.find((r) => r.requestId === requestId);
describe("HTTPS and tokens on the HTTP port, members forwarding with their certificates", () => {
  let cluster: SecureCluster;
  let leader: number;
  let follower: number;
  beforeAll(async () => {
    cluster = await SecureCluster.create(3, { tls: true, tokens: TOKENS, strangerMemberIds: [9] });
    await cluster.startAll();
    leader = await cluster.waitForLeader();
    follower = [1, 2, 3].find((id) => id !== leader) as number;
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  it("refuses plain HTTP: the port speaks only TLS", async () => {
    const port = cluster.ports.get(leader)?.http as number;
    await expect(fetch(`http://127.0.0.1:${port}/v1/kv/x`, { signal: AbortSignal.timeout(5000) })).rejects.toThrow();
  });

  it("answers 401 without a token or with an unknown one, saying what is missing", async () => {
    const none = await cluster.request(leader, "GET", "/v1/kv/x");
    expect(none.status).toBe(401);
    expect(none.headers["www-authenticate"]).toBe("Bearer");
    expect(errorOf(none.text)).toMatchObject({ code: "UNAUTHENTICATED" });
    expect(errorOf(none.text).message).toMatch(/Authorization: Bearer <token>/);
    const unknown = await cluster.request(leader, "PUT", "/v1/kv/x", { token: "not-a-token-of-this-cluster" }, "v");
    expect(unknown.status).toBe(401);
    expect(errorOf(unknown.text).message).toMatch(/not known/);
  });

  it("lets a read-only token get but not put (403), and a read-write token put", async () => {
    expect((await cluster.request(leader, "PUT", "/v1/kv/greeting", { token: RW }, "hello")).status).toBe(200);
    const put = await cluster.request(leader, "PUT", "/v1/kv/greeting", { token: RO }, "overwritten");
    expect(put.status).toBe(403);
    expect(errorOf(put.text)).toEqual({ code: "PERMISSION_DENIED", message: "token 'rita' has role read-only; put needs read-write" });
    const del = await cluster.request(leader, "DELETE", "/v1/kv/greeting", { token: RO });
    expect(del.status).toBe(403);
    const get = await cluster.request(leader, "GET", "/v1/kv/greeting", { token: RO });
    expect(get.status).toBe(200);
    expect(get.text).toBe("hello");
    expect((await cluster.request(leader, "GET", "/v1/kv?prefix=greet", { token: RO })).status).toBe(200);
  });

  it("keeps the admin API to the admin role, and its refusals do not name the cluster", async () => {
    const rw = await cluster.request(leader, "GET", "/v1/admin/members", { token: RW });
    expect(rw.status).toBe(403);
    expect(errorOf(rw.text).message).toMatch(/role read-write; GET \/v1\/admin\/members needs admin/);
    const none = await cluster.request(follower, "POST", "/v1/admin/transfer-leadership", {}, "{}", { "content-type": "application/json" });
    expect(none.status).toBe(401);
    for (const text of [rw.text, none.text]) expect(text).not.toContain(CLUSTER_ID);
    const admin = await cluster.request(leader, "GET", "/v1/admin/members", { token: ADMIN });
    expect(admin.status).toBe(200);
  });

  it("takes client certificates by their role", async () => {
    expect((await cluster.request(leader, "PUT", "/v1/kv/by-cert", { role: "read-write" }, "c")).status).toBe(200);
    const ro = await cluster.request(leader, "PUT", "/v1/kv/by-cert", { role: "read-only" }, "d");
    expect(ro.status).toBe(403);
    expect(errorOf(ro.text).message).toMatch(/^certificate '.*' has role read-only; put needs read-write$/);
    expect((await cluster.request(leader, "GET", "/v1/kv/by-cert", { role: "read-only" })).text).toBe("c");
    // A member certificate is no client credential.
    expect((await cluster.request(leader, "GET", "/v1/kv/by-cert", { member: follower })).status).toBe(401);
  });

  it("leaves the probes, the metrics and the status open, with no secret in the status", async () => {
    for (const path of ["/healthz", "/readyz", "/metrics", "/v1/status"]) {
      expect((await cluster.request(leader, "GET", path)).status, path).toBe(200);
    }
    const status = (await cluster.request(leader, "GET", "/v1/status")).text;
    for (const token of [RO, RW, ADMIN]) expect(status).not.toContain(token);
  });

  it("forwards a follower's client write to the leader over mutual TLS, for the client's role", async () => {
    const put = await cluster.request(follower, "PUT", "/v1/kv/forwarded", { token: RW }, "via-follower");
    expect(put.status).toBe(200);
    expect((await cluster.request(leader, "GET", "/v1/kv/forwarded", { token: RO })).text).toBe("via-follower");
    // Linearizable reads on a follower are forwarded too.
    expect((await cluster.request(follower, "GET", "/v1/kv/forwarded", { token: RO })).text).toBe("via-follower");
    const refused = await cluster.request(follower, "PUT", "/v1/kv/forwarded", { token: RO }, "no");
    expect(refused.status).toBe(403);
    // Admin calls through a follower reach the leader the same way.
    expect((await cluster.request(follower, "GET", "/v1/admin/members", { token: ADMIN })).status).toBe(200);
  });

  it("the leader checks the forwarded caller's role itself", async () => {
    const replies = await binaryExchange(cluster, leader, { member: follower }, undefined, [
      forwardedPut(2, "sneaky", "read-only token rita"), forwardedPut(3, "sneaky"), forwardedPut(4, "forwarded-2", "read-write token alice"),
    ]);
    expect(replyTo(replies, 1)?.kind).toBe("hello-ok");
    expect(replyTo(replies, 2)).toMatchObject({ kind: "error", code: "PERMISSION_DENIED", message: "token 'rita' has role read-only; write needs read-write" });
    expect(replyTo(replies, 3)).toMatchObject({ kind: "error", code: "UNAUTHENTICATED" });
    expect(replyTo(replies, 4)).toMatchObject({ kind: "write-ok", result: { ok: true } });
  });

  it("takes a caller named in a request only from a member of the configuration", async () => {
    for (const [as, token] of [[{}, ADMIN], [{ role: "admin" as const }, undefined], [{ member: 9 }, undefined]] as const) {
      const replies = await binaryExchange(cluster, leader, as, token, [forwardedPut(2, "sneaky", "admin token root")]);
      const refusal = replyTo(replies, 2) ?? replyTo(replies, 1);
      expect(refusal, JSON.stringify(as)).toMatchObject({ kind: "error" });
      expect(["PERMISSION_DENIED", "UNAUTHENTICATED"], JSON.stringify(refusal)).toContain((refusal as { code: string }).code);
    }
    expect((await cluster.request(leader, "GET", "/v1/kv/sneaky", { token: RO })).status).toBe(404);
  });

  it("no longer has the JSON forwarding endpoint: POST /v1/internal/forward answers 404, even from a member", async () => {
    const answer = await cluster.request(leader, "POST", FORWARD_PATH, { member: follower }, "{}", { "content-type": "application/json", "x-kvraft-principal": "admin token root" });
    expect(answer.status).toBe(404);
  });
});

describe("plain HTTP without authentication", () => {
  let cluster: SecureCluster | undefined;
  afterAll(async () => {
    await cluster?.stop();
  });

  it("still forwards a follower's write to the leader (members on loopback, as in tests and kvraft local)", async () => {
    const c = (cluster = await SecureCluster.started(3, { tls: false }));
    const leader = await c.waitForLeader();
    const follower = [1, 2, 3].find((id) => id !== leader) as number;
    const url = (id: number, key: string): string => `http://127.0.0.1:${c.ports.get(id)?.http as number}/v1/kv/${key}`;
    expect((await fetch(url(follower, "plain"), { method: "PUT", body: "p" })).status).toBe(200);
    expect(await (await fetch(url(leader, "plain"))).text()).toBe("p");
  }, 30_000);
});

describe("plain HTTP with tokens", () => {
  let cluster: SecureCluster;
  afterAll(async () => {
    await cluster?.stop();
  });

  it("a follower that cannot prove itself answers NOT_LEADER with the leader's address rather than forwarding", async () => {
    cluster = await SecureCluster.started(3, { tls: false, tokens: TOKENS });
    const leader = await cluster.waitForLeader();
    const follower = [1, 2, 3].find((id) => id !== leader) as number;
    const put = await fetch(`http://127.0.0.1:${cluster.ports.get(follower)?.http as number}/v1/kv/plain`, { method: "PUT", body: "v", headers: { authorization: `Bearer ${RW}` } });
    expect(put.status).toBe(503);
    expect(errorOf(await put.text())).toMatchObject({ code: "NOT_LEADER", message: expect.stringMatching(/members forward only with member certificates/) });
    const old = await fetch(`http://127.0.0.1:${cluster.ports.get(leader)?.http as number}${FORWARD_PATH}`, {
      method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${ADMIN}` }, body: "{}",
    });
    expect(old.status).toBe(404);
  }, 30_000);
});

describe("--client-cert-auth", () => {
  let cluster: SecureCluster | undefined;
  afterAll(async () => {
    await cluster?.stop();
  });

  it("wants a client certificate on every request, a token alone is not enough; the binary port refuses at the handshake", async () => {
    const c = (cluster = await SecureCluster.started(1, { tls: true, clientCertAuth: true, tokens: TOKENS }));
    const tokenOnly = await c.request(1, "GET", "/v1/kv/x", { token: RW });
    expect(tokenOnly.status).toBe(401);
    expect(errorOf(tokenOnly.text).message).toMatch(/requires a client certificate/);
    expect((await c.request(1, "PUT", "/v1/kv/x", { role: "read-write" }, "v")).status).toBe(200);
    expect((await c.request(1, "GET", "/v1/kv/x", { role: "read-only" })).text).toBe("v");
    // TLS 1.3 reports the refused certificate after the handshake: the connection dies either way.
    await expect((async () => {
      const socket = await c.dialTls(1, "client");
      await new Promise<void>((resolve, reject) => {
        socket.once("close", () => reject(new Error("closed by the server")));
        socket.once("error", reject);
        socket.once("data", () => resolve());
        // A HELLO that a server which took the connection would answer HELLO_OK.
        socket.write(encodeRequest({ kind: "hello", requestId: 1, clientName: "no-cert", forward: false, token: RW }));
      });
    })()).rejects.toThrow();
  }, 30_000);
});

describe("the admin port (--admin-port)", () => {
  let cluster: SecureCluster | undefined;
  afterAll(async () => {
    await cluster?.stop();
  });

  it("speaks HTTPS, wants the admin role, and a follower proxies to the leader's admin port with its member certificate", async () => {
    const c = (cluster = await SecureCluster.started(3, { tls: true, tokens: TOKENS, adminPort: true }));
    const leader = await c.waitForLeader();
    const follower = [1, 2, 3].find((id) => id !== leader) as number;
    const port = c.ports.get(leader)?.admin as number;
    await expect(fetch(`http://127.0.0.1:${port}/v1/admin/members`, { signal: AbortSignal.timeout(5000) })).rejects.toThrow();
    expect((await c.request(leader, "GET", "/v1/admin/members", {}, undefined, {}, "admin")).status).toBe(401);
    expect((await c.request(leader, "GET", "/v1/admin/members", { token: RW }, undefined, {}, "admin")).status).toBe(403);
    const viaFollower = await c.request(follower, "POST", "/v1/admin/transfer-leadership", { token: ADMIN }, JSON.stringify({ to: follower }), { "content-type": "application/json" }, "admin");
    expect(viaFollower.status, viaFollower.text).toBe(200);
    expect(JSON.parse(viaFollower.text)).toEqual({ transferringTo: follower });
    await waitFor("the follower to lead", () => (c.servers.get(follower)?.status().role === "leader" ? true : undefined), 10_000);
  }, 30_000);
});
