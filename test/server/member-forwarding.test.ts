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
import { runAs } from "../../src/server/auth/caller.js";
import { MemberHttpClient } from "../../src/server/auth/member-http.js";
import { HttpForwarder } from "../../src/server/forwarding.js";
import { proxyToLeader } from "../../src/server/http/proxy.js";

/**
 * Issue 15: followers forwarded client writes and admin calls to the address a peer
 * announced, with `Authorization: Bearer <admin token>`; one plain PUT delivered the
 * admin token to a listener of the attacker's. A member now sends its member certificate
 * and the caller's name and role, never a token. A listener stands in for the leader and
 * records what arrives.
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

  it("a forwarded client request carries the member certificate and the caller, no token", async () => {
    seen.length = 0;
    const forwarder = new HttpForwarder({ leaderId: () => 1, addresses: () => ({ http: leaderAddress }) }, 5000, members, true);
    const answer = await runAs({ name: "alice", role: "read-write", via: "token" }, () => forwarder.forward({ op: "get", keys: [new Uint8Array([1])] }));
    expect(answer).toEqual({ op: "get", outcome: { revision: 7, kvs: [undefined] } });
    expect(seen).toHaveLength(1);
    expect(seen[0]?.member).toBe(2);
    expect(seen[0]?.headers["authorization"]).toBeUndefined();
    expect(seen[0]?.headers["x-kvraft-principal"]).toBe("read-write token alice");
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
    seen.length = 0;
    const plain = new MemberHttpClient(undefined, undefined);
    const forwarder = new HttpForwarder({ leaderId: () => 1, addresses: () => ({ http: leaderAddress, client: "127.0.0.1:1" }) }, 5000, plain, true);
    await expect(forwarder.forward({ op: "get", keys: [new Uint8Array([1])] })).rejects.toMatchObject({ code: "NOT_LEADER", leader: { leaderId: 1, clientAddress: "127.0.0.1:1" } });
    expect(seen).toHaveLength(0);
  });
});

