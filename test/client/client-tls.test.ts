import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import { connect, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer as createTlsServer, type Server as TlsServer } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminApi, adminFetch } from "../../src/client/admin.js";
import { askCoordinator } from "../../src/client/discovery.js";
import { AdminError, AuthenticationError, TlsVerificationError, createClient } from "../../src/client/index.js";
import { decodeRequest, encodeResponse, FrameDecoder, FRAME_BYTES_MAX_DEFAULT } from "../../src/protocol/index.js";
import { CA_CERT_FILE, memberCertFiles, writeClusterPki } from "../../src/security/cluster-pki.js";
import { TlsFailureError } from "../../src/security/https-call.js";
import { FakeCluster } from "./fake-cluster.js";

const TOKEN = "t".repeat(64);

/**
 * The client library's TLS and token options against stand-ins for the servers' TLS
 * ports: a TLS terminator in front of a plain client port that checks the token in
 * HELLO (as the server's auth gate does: UNAUTHENTICATED and close), and an https server
 * for the HTTP calls (admin, coordinator) that checks `Authorization: Bearer`.
 */
describe("client library: TLS and tokens", () => {
  let dir: string;
  let fake: FakeCluster;
  let tlsPort: TlsServer;
  let https: HttpsServer;
  const hellos: (string | undefined)[] = [];
  const authorizations: (string | undefined)[] = [];
  let ca: string;
  let otherCa: string;

  const portOf = (server: TlsServer | HttpsServer): number => (server.address() as AddressInfo).port;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "kvraft-client-tls-"));
    await writeClusterPki(join(dir, "pki"), { clusterId: "c", memberIds: [1], validDays: 1 });
    await writeClusterPki(join(dir, "other"), { clusterId: "c", memberIds: [1], validDays: 1 });
    ca = readFileSync(join(dir, "pki", CA_CERT_FILE), "utf8");
    otherCa = readFileSync(join(dir, "other", CA_CERT_FILE), "utf8");
    const files = memberCertFiles(join(dir, "pki"), 1);
    const serving = { cert: readFileSync(files.certFile), key: readFileSync(files.keyFile) };
    fake = await FakeCluster.start(1);
    const [host, port] = fake.address(1).split(":") as [string, string];

    tlsPort = createTlsServer(serving, (socket) => {
      socket.on("error", () => undefined);
      const decoder = new FrameDecoder(FRAME_BYTES_MAX_DEFAULT);
      const received: Buffer[] = [];
      const onData = (chunk: Buffer): void => {
        received.push(chunk);
        decoder.push(chunk);
        const frame = decoder.next();
        if (frame === undefined) return;
        socket.off("data", onData);
        const hello = decodeRequest(frame);
        const token = hello.kind === "hello" ? hello.token : undefined;
        hellos.push(token);
        if (token !== TOKEN) {
          socket.end(encodeResponse({ kind: "error", requestId: hello.requestId, code: "UNAUTHENTICATED", message: "the token in HELLO is not one this cluster knows", retryable: false }));
          return;
        }
        const member = connect({ host, port: Number(port) }, () => {
          member.write(Buffer.concat(received));
          socket.pipe(member).pipe(socket);
        });
        member.on("error", () => socket.destroy());
        socket.on("close", () => member.destroy());
      };
      socket.on("data", onData);
    });
    https = createHttpsServer(serving, (req, res) => {
      authorizations.push(req.headers.authorization);
      if (req.headers.authorization !== `Bearer ${TOKEN}`) {
        res.writeHead(401, { "content-type": "application/json", "www-authenticate": "Bearer" });
        res.end(JSON.stringify({ error: { code: "UNAUTHENTICATED", message: "no such token" } }));
        return;
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end(req.url === "/v1/cluster"
        ? JSON.stringify({ leader: { id: 1, addresses: { client: "127.0.0.1:1", http: "127.0.0.1:2" } }, members: [] })
        : JSON.stringify({ clusterId: "c", voters: [1], learners: [], leaderId: 1 }));
    });
    await Promise.all([tlsPort, https].map((server) => new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()))));
  });

  afterAll(async () => {
    await Promise.all([tlsPort, https].map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
    await fake?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("with the CA and a token, calls go over TLS and HELLO carries the token", async () => {
    const client = createClient({ endpoints: [`127.0.0.1:${portOf(tlsPort)}`], tls: { ca }, token: TOKEN, deadlineMs: 5000 });
    try {
      await client.put("k", "v");
      expect(new TextDecoder().decode((await client.get("k"))?.value)).toBe("v");
    } finally {
      await client.close();
    }
    expect(hellos.at(-1)).toBe(TOKEN);
  });

  it("a server certificate from another CA is refused before HELLO, at once, and the error says which CA", async () => {
    const before = hellos.length;
    const client = createClient({ endpoints: [`127.0.0.1:${portOf(tlsPort)}`], tls: { ca: otherCa, caSource: "--cacert other/ca.crt" }, token: TOKEN, deadlineMs: 10_000 });
    const started = Date.now();
    try {
      const error = await client.get("k").catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TlsVerificationError);
      expect(Date.now() - started, "not retried until the deadline").toBeLessThan(5000);
      expect((error as Error).message).toMatch(/the server's certificate is not signed by the CA in --cacert other\/ca\.crt/);
    } finally {
      await client.close();
    }
    expect(hellos.length, "no HELLO (and no token) reached a server we could not verify").toBe(before);
  });

  it("TLS to a plain port says the server does not speak TLS there", async () => {
    // Not retried (a setting to fix, as a rejected certificate): the first attempt's error is
    // the answer, never the deadline's (a retry still under way at a 3 s deadline once
    // made the deadline's error the answer on a loaded machine).
    const client = createClient({ endpoints: [fake.address(1)], tls: { ca }, deadlineMs: 10_000 });
    try {
      await expect(client.get("k")).rejects.toThrow(/the server does not speak TLS on this port/);
    } finally {
      await client.close();
    }
  });

  it("a refused token fails at once with AuthenticationError, not retried until the deadline", async () => {
    const client = createClient({ endpoints: [`127.0.0.1:${portOf(tlsPort)}`], tls: { ca }, token: "w".repeat(64), deadlineMs: 10_000 });
    const started = Date.now();
    try {
      const error = await client.get("k").catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AuthenticationError);
      expect((error as Error).message).toMatch(/refused the connection: the token was refused: the token in HELLO is not one this cluster knows/);
    } finally {
      await client.close();
    }
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("without a token the refusal says one is needed", async () => {
    const client = createClient({ endpoints: [`127.0.0.1:${portOf(tlsPort)}`], tls: { ca }, deadlineMs: 10_000 });
    try {
      await expect(client.get("k")).rejects.toThrow(/the cluster wants a token and none was given/);
    } finally {
      await client.close();
    }
  });

  it("HTTP calls (coordinator, admin) go over https with the CA and the bearer token", async () => {
    const base = `https://127.0.0.1:${portOf(https)}`;
    const view = await askCoordinator(base, 2000, { tls: { ca }, token: TOKEN });
    expect(view.leaderClientAddress).toBe("127.0.0.1:1");
    expect(authorizations.at(-1)).toBe(`Bearer ${TOKEN}`);
    const admin = new AdminApi({ httpAddress: () => Promise.resolve(`127.0.0.1:${portOf(https)}`), token: TOKEN, tls: { ca }, deadlineMs: 2000 });
    expect((await admin.memberList()).voters).toEqual([1]);
    const answer = await adminFetch(`${base}/v1/admin/members`, "GET", undefined, { token: TOKEN, tls: { ca }, deadlineMs: 2000 });
    expect(answer.status).toBe(200);
  });

  it("a refused admin token is a 401 AdminError that says the token was refused; a wrong CA a TlsFailureError", async () => {
    const admin = new AdminApi({ httpAddress: () => Promise.resolve(`127.0.0.1:${portOf(https)}`), token: "w".repeat(64), tls: { ca }, deadlineMs: 2000 });
    const error = await admin.memberList().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AdminError);
    expect((error as AdminError).status).toBe(401);
    expect((error as Error).message).toMatch(/the token was refused \(401\) \(the server said: no such token\)/);
    const wrongCa = await adminFetch(`https://127.0.0.1:${portOf(https)}/v1/admin/members`, "GET", undefined, { token: TOKEN, tls: { ca: otherCa }, deadlineMs: 2000 }).catch((e: unknown) => e);
    expect(wrongCa).toBeInstanceOf(TlsFailureError);
    expect((wrongCa as Error).message).toMatch(/is not signed by the CA in the tls\.ca option/);
  });

  it("refuses a token that cannot travel in a header, and a certificate without its key", () => {
    expect(() => createClient({ endpoints: ["127.0.0.1:1"], token: "two words" })).toThrow(/token must be printable ASCII without spaces/);
    expect(() => createClient({ endpoints: ["127.0.0.1:1"], tls: { ca, cert: "x" } })).toThrow(/tls\.cert and tls\.key go together/);
  });
});
