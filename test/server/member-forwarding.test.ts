import { mkdtemp, rm } from "node:fs/promises";
import type { IncomingHttpHeaders } from "node:http";
import * as https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TLSSocket } from "node:tls";
import express from "express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { memberPeerTls, memberServingTls, writeClusterPki } from "../../src/security/cluster-pki.js";
import { memberIdentityOf } from "../../src/security/member-identity.js";
import { TlsMaterial } from "../../src/security/tls-material.js";
import { pino } from "pino";
import { TokenStore } from "../../src/security/tokens.js";
import type { Caller } from "../../src/server/auth/caller.js";
import { NO_SCOPE } from "../../src/server/request-scope.js";
import { MemberHttpClient } from "../../src/server/auth/member-http.js";
import { ClientSecurity } from "../../src/server/client-security.js";
import { BinaryForwarder } from "../../src/server/forwarding.js";
import { proxyToLeader } from "../../src/server/http/proxy.js";
import { ClientPortServer } from "../../src/server/client-port/index.js";
import { FakeKvService } from "../support/fake-kv-service.js";

/**
 * Issue 15: followers forwarded client writes and admin calls to the address a peer
 * announced, with `Authorization: Bearer <admin token>`; one plain PUT delivered the
 * admin token to a listener of the attacker's. A member now sends its member certificate
 * and the caller's name and role, never a token. A listener stands in for the leader and
 * records what arrives (issue 17: client requests go to the leader's binary port, admin
 * calls still to its HTTPS port).
 */
interface Seen { readonly headers: IncomingHttpHeaders; readonly member: number | undefined }

describe("what a follower sends to the leader", () => {
  let dir: string;
  let leader: https.Server;
  let leaderAddress: string;
  const seen: Seen[] = [];
  let members: MemberHttpClient;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "kvraft-forwarding-"));
    await writeClusterPki(dir, { clusterId: "c", memberIds: [1, 2], clientRoles: [], validDays: 1 });
    const serving = TlsMaterial.load(memberServingTls(dir, 1, false));
    leader = https.createServer({ ...serving.serverOptions(), requestCert: true, rejectUnauthorized: false }, (req, res) => {
      const socket = req.socket as TLSSocket;
      seen.push({ headers: req.headers, member: socket.authorized ? memberIdentityOf(socket.getPeerCertificate().subjectaltname)?.memberId : undefined });
      req.resume();
      req.on("end", () => {
        res.setHeader("content-type", "application/json");
        res.end(req.url === "/v1/internal/forward" ? JSON.stringify({ op: "get", revision: 7, kvs: [null] }) : JSON.stringify({ voters: [1, 2] }));
      });
    });
    await new Promise<void>((resolve) => leader.listen(0, "127.0.0.1", resolve));
    leaderAddress = `127.0.0.1:${(leader.address() as { port: number }).port}`;
    members = new MemberHttpClient(TlsMaterial.load(memberPeerTls(dir, 2)), TlsMaterial.load(memberServingTls(dir, 2, false)));
  });
  afterAll(async () => {
    members?.close();
    await new Promise<void>((resolve) => (leader === undefined ? resolve() : leader.close(() => resolve())));
    await rm(dir, { recursive: true, force: true });
  });

  it("a forwarded client request goes to the leader's binary port with the member certificate and the caller, no token", async () => {
    const log = pino({ level: "silent" });
    const tokens = TokenStore.single("alice-token-0123456789abcdef0123", { name: "alice", role: "read-write" }, "test");
    const securityOf = (id: number): ClientSecurity => new ClientSecurity({
      tls: { client: memberServingTls(dir, id, false), peer: memberPeerTls(dir, id) }, tokens, adminToken: undefined, clientLimits: undefined,
    }, "c", () => true, log);
    const leaderSecurity = securityOf(1);
    const followerSecurity = securityOf(2);
    const service = new FakeKvService();
    const callers: (Caller | undefined)[] = [];
    service.onCall = (_call, scope) => callers.push(scope?.caller);
    const port = new ClientPortServer(service, { port: 0, statusJson: () => ({}) }, () => undefined, leaderSecurity.portSecurity());
    try {
      const bound = (await port.start()).port;
      const toLeader = new BinaryForwarder({ leaderId: () => 1, addresses: () => ({ client: `localhost:${bound}` }) }, {
        memberId: 2, requestTimeoutMs: 5000, forwardsInFlightMax: 16, frameBytesMax: 1024 * 1024,
        tls: () => followerSecurity.forwardingTls(), provesMember: followerSecurity.forwardsAsMember, authRequired: true,
      });
      try {
        const answer = await toLeader.getMany([new Uint8Array([1])], undefined, { caller: { name: "alice", role: "read-write", via: "token" } });
        expect(answer).toEqual({ revision: 0, kvs: [undefined] });
        expect(callers).toEqual([{ name: "alice", role: "read-write", via: "token" }]);
        // The leader checks the caller's role itself.
        await expect(toLeader.write({ type: "put", key: new Uint8Array([1]), value: new Uint8Array([2]) }, undefined, { caller: { name: "rita", role: "read-only", via: "token" } }))
          .rejects.toMatchObject({ code: "PERMISSION_DENIED", message: expect.stringMatching(/token 'rita' has role read-only; write needs read-write/) });
        // Nobody named: the leader takes no member's word for an anonymous write.
        await expect(toLeader.write({ type: "put", key: new Uint8Array([1]), value: new Uint8Array([2]) }, undefined, NO_SCOPE)).rejects.toMatchObject({ code: "UNAUTHENTICATED" });
        expect(service.writes).toEqual([]);
      } finally {
        toLeader.close();
      }
    } finally {
      await port.stop();
      leaderSecurity.close();
      followerSecurity.close();
    }
  });

  it("a proxied admin call carries the member certificate and the caller, never the caller's (admin) token", async () => {
    seen.length = 0;
    const follower = express();
    follower.use((_req, res, next) => {
      // What HttpAuth leaves for the routes once the caller's token checked out.
      res.locals["caller"] = { name: "root", role: "admin", via: "token" };
      next();
    });
    follower.get("/v1/admin/members", (req, res) => proxyToLeader(req, res, { leaderId: 1, address: leaderAddress }, members, true));
    const server = follower.listen(0, "127.0.0.1");
    await new Promise<void>((resolve) => server.once("listening", resolve));
    try {
      const port = (server.address() as { port: number }).port;
      const response = await fetch(`http://127.0.0.1:${port}/v1/admin/members`, { headers: { authorization: "Bearer the-admin-token-0123456789abcdef" } });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ voters: [1, 2] });
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    expect(seen).toHaveLength(1);
    expect(seen[0]?.member).toBe(2);
    expect(seen[0]?.headers["authorization"]).toBeUndefined();
    expect(JSON.stringify(seen[0]?.headers)).not.toContain("the-admin-token");
    expect(seen[0]?.headers["x-kvraft-principal"]).toBe("admin token root");
  });

  it("without member certificates and with authentication on, a follower sends nothing and names the leader", async () => {
    let dials = 0;
    const forwarder = new BinaryForwarder({ leaderId: () => 1, addresses: () => ({ client: "127.0.0.1:1", http: leaderAddress }) }, {
      memberId: 2, requestTimeoutMs: 5000, forwardsInFlightMax: 16, frameBytesMax: 1024 * 1024, tls: () => undefined, provesMember: false, authRequired: true,
      dialer: () => {
        dials++;
        return Promise.reject(new Error("no dial expected"));
      },
    });
    await expect(forwarder.getMany([new Uint8Array([1])], undefined, NO_SCOPE)).rejects.toMatchObject({ code: "NOT_LEADER", leader: { leaderId: 1, clientAddress: "127.0.0.1:1" } });
    expect(dials).toBe(0);
  });
});
