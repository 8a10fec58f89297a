/**
 * The peer-port attacks of issue 15, against real members (in this process, startServer):
 * a stranger on loopback who knows the cluster id forges TimeoutNow (move leadership),
 * AppendEntries (an entry committed on one member), InstallSnapshot (replace a member's
 * state) and HELLOs (readdress a member in the directory, flood with made-up ids).
 * With peer TLS none of it is stepped, the members stay up, the leader does not change,
 * and writes still commit; in plain mode made-up member ids get nowhere either. On the
 * code before this change the forged TimeoutNow moved leadership and the made-up ids
 * left transport series in /metrics.
 */
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tls from "node:tls";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Message } from "../../src/raft/messages.js";
import type { NodeId } from "../../src/raft/types.js";
import { EntryType } from "../../src/raft/types.js";
import { clientCertFiles, memberCertFiles, memberPeerTls, writeClusterPki } from "../../src/security/cluster-pki.js";
import { encodeHello, encodeRaftFrame, MESSAGE_CODEC_VERSION } from "../../src/transport/index.js";
import { InProcessCluster } from "../support/in-process-cluster.js";
import { waitFor } from "../support/wait.js";

const CLUSTER_ID = "peer-auth-test";
let pkiDir = "";
let otherPkiDir = "";
let cluster: InProcessCluster | undefined;
const sockets = new Set<net.Socket>();

beforeAll(async () => {
  pkiDir = await mkdtemp(join(tmpdir(), "kvraft-peer-auth-"));
  otherPkiDir = await mkdtemp(join(tmpdir(), "kvraft-peer-auth-other-"));
  await writeClusterPki(pkiDir, { clusterId: CLUSTER_ID, memberIds: [1, 2, 3, 9], clientRoles: ["admin"], validDays: 1 });
  await writeClusterPki(otherPkiDir, { clusterId: CLUSTER_ID, memberIds: [1, 2, 3], validDays: 1 });
});
afterEach(async () => {
  for (const socket of sockets) socket.destroy();
  sockets.clear();
  await cluster?.stopAll();
  cluster = undefined;
});
afterAll(async () => {
  await rm(pkiDir, { recursive: true, force: true });
  await rm(otherPkiDir, { recursive: true, force: true });
});

type Credential = "plain" | { dir: string; files: { certFile: string; keyFile: string } };

/** Connects like a peer (TLS with `credential`, or plain TCP) and writes `frames`; resolves once the member has closed it. */
async function attack(port: number, credential: Credential, frames: readonly Uint8Array[]): Promise<void> {
  const socket = credential === "plain"
    ? net.connect(port, "127.0.0.1")
    : tls.connect({ host: "127.0.0.1", port, rejectUnauthorized: false, cert: readFileSync(credential.files.certFile), key: readFileSync(credential.files.keyFile) });
  sockets.add(socket);
  socket.on("error", () => undefined);
  socket.on("data", () => undefined);
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  for (const frame of frames) socket.write(frame);
  await closed;
}

function hello(fromId: NodeId, toId: NodeId, advertise: Record<string, string> = {}): Uint8Array {
  return encodeHello({ protocolVersion: MESSAGE_CODEC_VERSION, clusterId: CLUSTER_ID, fromId, toId, advertise });
}

/** The three forgeries, as member `from` to member `to` in `term`, right after the HELLO. */
function forged(from: NodeId, to: NodeId, term: number, lastIndex: number): Uint8Array[] {
  const messages: Message[] = [
    { type: "TimeoutNow", from, to, term },
    {
      type: "App", from, to, term, prevIndex: lastIndex, prevTerm: term, commit: lastIndex + 1, session: 1, votingBarrier: 0,
      entries: [{ index: lastIndex + 1, term, type: EntryType.Normal, data: new TextEncoder().encode("forged") }],
    },
    { type: "Snap", from, to, term: term + 1, transferId: 1, meta: { index: lastIndex + 50, term: term + 1, config: { voters: [from], learners: [] }, sizeBytes: 4 }, offset: 0, data: new Uint8Array(4), done: true },
  ];
  return [hello(from, to, { http: "127.0.0.1:1", admin: "127.0.0.1:1", peer: "127.0.0.1:1" }), ...messages.map(encodeRaftFrame)];
}

async function put(c: InProcessCluster, id: number, key: string, value: string): Promise<number> {
  const response = await fetch(`${c.http(id)}/v1/kv/${key}`, { method: "PUT", body: value, signal: AbortSignal.timeout(10_000) });
  return response.status;
}

async function metricsText(c: InProcessCluster, id: number): Promise<string> {
  return (await fetch(`${c.http(id)}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
}

describe("peer port with mutual TLS, attacked", () => {
  it("elects, commits, and steps none of the forgeries: plain, other CA, a member's certificate claiming another id, member 9 of the same CA", async () => {
    cluster = await InProcessCluster.create(3, (id) => ({ clusterId: CLUSTER_ID, tls: { client: undefined, peer: memberPeerTls(pkiDir, id) } }));
    const c = cluster;
    await c.startAll();
    const leader = await c.waitForLeader();
    expect(await put(c, leader, "before", "1")).toBe(200);
    const follower = [1, 2, 3].find((id) => id !== leader) as number;
    const other = [1, 2, 3].find((id) => id !== leader && id !== follower) as number;
    const port = (c.ports.get(follower) as { peer: number }).peer;
    const before = c.server(follower).status();
    const httpOfLeader = before.members.find((m) => m.id === leader);

    const forgeries = (from: NodeId): Uint8Array[] => forged(from, follower, before.term, before.lastIndex);
    await attack(port, "plain", forgeries(leader));
    await attack(port, { dir: otherPkiDir, files: memberCertFiles(otherPkiDir, leader) }, forgeries(leader));
    await attack(port, { dir: pkiDir, files: memberCertFiles(pkiDir, other) }, forgeries(leader));
    await attack(port, { dir: pkiDir, files: memberCertFiles(pkiDir, 9) }, forgeries(9));
    await attack(port, { dir: pkiDir, files: clientCertFiles(pkiDir, "admin") }, forgeries(leader));

    // Still one leader, the same, in the same term; the follower holds no forged entry and still follows.
    expect(await put(c, leader, "after", "2")).toBe(200);
    await waitFor("the follower has the write after the attacks", () => {
      const status = c.server(follower).status();
      return status.appliedIndex >= c.server(leader).status().commitIndex ? status : undefined;
    }, 10_000);
    const after = c.server(follower).status();
    expect(after).toMatchObject({ leaderId: leader, term: before.term });
    expect(c.server(leader).status()).toMatchObject({ role: "leader", term: before.term });
    expect(c.stopped.size).toBe(0);
    const value = await fetch(`${c.http(leader)}/v1/kv/after`, { signal: AbortSignal.timeout(5000) });
    expect(await value.text()).toContain("2");
    // The directory still has the leader's real addresses (the forged HELLOs said 127.0.0.1:1).
    expect(after.members.find((m) => m.id === leader)).toStrictEqual(httpOfLeader);
    // Refusals are counted by reason; no series for member 9.
    const metrics = await metricsText(c, follower);
    expect(metrics).toMatch(/kvraft_transport_refused_total\{reason="tls-handshake"\} [1-9]/);
    expect(metrics).toMatch(/kvraft_transport_refused_total\{reason="identity-mismatch"\} 1/);
    expect(metrics).toMatch(/kvraft_transport_refused_total\{reason="not-a-member"\} 1/);
    expect(metrics).toMatch(/kvraft_transport_refused_total\{reason="unauthenticated"\} 1/);
    expect(metrics).not.toContain('peer="9"');
  }, 60_000);
});

describe("peer port in plain mode, attacked", () => {
  it("warns that it is unauthenticated; made-up member ids are refused, leave no metric series, and do not cut the leader off", async () => {
    cluster = await InProcessCluster.create(3, { clusterId: CLUSTER_ID });
    const c = cluster;
    await c.startAll();
    const leader = await c.waitForLeader();
    expect(c.log(leader)).toContain("the peer port is not authenticated");
    const follower = [1, 2, 3].find((id) => id !== leader) as number;
    const port = (c.ports.get(follower) as { peer: number }).peer;
    const before = c.server(follower).status();
    // A forged TimeoutNow from a made-up member: on the old code it moved leadership.
    await attack(port, "plain", forged(7, follower, before.term, before.lastIndex));
    const flood: Promise<void>[] = [];
    for (let i = 0; i < 255; i++) flood.push(attack(port, "plain", [hello(1000 + i, follower, { peer: `127.0.0.1:${20_000 + i}` })]));
    await Promise.all(flood);
    expect(await put(c, leader, "after", "1")).toBe(200);
    await waitFor("the follower applies the write", () => c.server(follower).status().appliedIndex >= c.server(leader).status().commitIndex, 10_000);
    expect(c.server(follower).status()).toMatchObject({ leaderId: leader, term: before.term });
    const metrics = await metricsText(c, follower);
    expect(metrics).not.toMatch(/peer="(7|1\d\d\d)"/);
    expect(metrics).toMatch(/kvraft_transport_refused_total\{reason="not-a-member"\} 256/);
  }, 60_000);
});
