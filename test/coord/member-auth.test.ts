import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { ClusterView, RunningCoordinator } from "../../src/coord/index.js";
import { startCoordinator } from "../../src/coord/index.js";
import type { CoordReporter } from "../../src/server/coord-reporter.js";
import { startCoordReporter } from "../../src/server/coord-reporter.js";
import { CA_CERT_FILE, memberCertFiles, writeClusterPki } from "../../src/security/cluster-pki.js";
import { waitFor } from "../support/wait.js";
import { CLUSTER, heartbeatOf, statusOf } from "./fixtures.js";

const TOKEN = "a-member-token-of-32-characters!";
/** The attack of issue 15: one report naming its sender leader in a term far ahead of the real one. */
const forged = (id: number) => heartbeatOf(id, { role: "leader", term: 999_999, commitIndex: 1, appliedIndex: 1 });
const realLeader = statusOf(1, { role: "leader", term: 3, commitIndex: 9, appliedIndex: 9 });

interface Answer { readonly status: number; readonly body: string }

/** One HTTPS POST, with a client certificate when given (fetch cannot send one). */
function postTls(url: string, body: unknown, tls: { ca: string; cert?: string; key?: string }, headers: Record<string, string> = {}): Promise<Answer> {
  const text = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const request = httpsRequest(url, { method: "POST", headers: { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers }, ...tls }, (response) => {
      let answer = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => { answer += chunk; });
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body: answer }));
    });
    request.on("error", reject);
    request.end(text);
  });
}

async function leaderOf(coordinator: RunningCoordinator): Promise<ClusterView["leader"]> {
  return coordinator.view().find((v) => v.clusterId === CLUSTER)?.leader ?? null;
}

describe("coordinator: only members may report (issue 15)", () => {
  let coordinator: RunningCoordinator | undefined;
  let reporter: CoordReporter | undefined;
  let pki: string;
  beforeAll(async () => {
    pki = await mkdtemp(join(tmpdir(), "kvraft-coord-pki-"));
    await writeClusterPki(pki, { clusterId: CLUSTER, memberIds: [1, 2, 3], validDays: 1 });
  });
  afterAll(async () => {
    await rm(pki, { recursive: true, force: true });
  });
  afterEach(async () => {
    reporter?.stop();
    reporter = undefined;
    await coordinator?.stop();
    coordinator = undefined;
  });

  it("with --auth-token-file: a forged leader report without the token is answered 401 and the view keeps the real leader", async () => {
    coordinator = await startCoordinator({ host: "127.0.0.1", port: 0, watchIntervalMs: 10, authToken: TOKEN });
    const url = coordinator.url;
    const registered: string[] = [];
    reporter = startCoordReporter({
      coordinatorUrl: url, intervalMs: 50, clusterId: CLUSTER, status: () => realLeader, credentials: { token: TOKEN },
      onEvent: (event) => registered.push(event.type),
    });
    await waitFor("the real leader to be shown", async () => ((await leaderOf(coordinator as RunningCoordinator))?.id === 1 ? true : undefined), 5000);
    expect(registered).not.toContain("failed");

    const post = (body: unknown, headers: Record<string, string> = {}): Promise<Response> =>
      fetch(`${url}/v1/heartbeat`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
    const bare = await post(forged(9));
    expect(bare.status).toBe(401);
    expect(((await bare.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: "UNAUTHENTICATED", message: expect.stringMatching(/no 'Authorization: Bearer' token/) });
    const wrong = await post(forged(9), { authorization: "Bearer not-the-token-at-all-0123456789" });
    expect(wrong.status).toBe(401);
    await wrong.arrayBuffer();
    const register = await fetch(`${url}/v1/register`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(forged(1)) });
    expect(register.status).toBe(401);
    await register.arrayBuffer();

    expect(await leaderOf(coordinator)).toMatchObject({ id: 1, term: 3 });
    expect(coordinator.view()[0]?.members.map((m) => m.id)).toEqual([1]);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/kvraft_coord_heartbeats_total\{kind="heartbeat",result="unauthenticated"\} 2/);
    expect(coordinator.authenticatesReports).toBe(true);
  });

  it("over HTTPS with --trusted-ca-file: a member reports with its own certificate; none, or another member's, is answered 401", async () => {
    const ca = readFileSync(join(pki, CA_CERT_FILE), "utf8");
    // The coordinator serves with a certificate of the cluster CA (a member's will do here: it names localhost and 127.0.0.1).
    coordinator = await startCoordinator({
      host: "127.0.0.1", port: 0, watchIntervalMs: 10,
      tls: { ...memberCertFiles(pki, 3), trustedCaFile: join(pki, CA_CERT_FILE), clientCertAuth: false },
    });
    expect(coordinator.url).toMatch(/^https:\/\//);
    const url = coordinator.url;
    const member = (id: number) => ({ cert: readFileSync(memberCertFiles(pki, id).certFile, "utf8"), key: readFileSync(memberCertFiles(pki, id).keyFile, "utf8") });

    // The server's reporter: HTTPS, the cluster CA, its member certificate.
    reporter = startCoordReporter({ coordinatorUrl: url, intervalMs: 50, clusterId: CLUSTER, status: () => realLeader, credentials: { tls: () => ({ ...member(1), ca }) } });
    await waitFor("the real leader to be shown", async () => ((await leaderOf(coordinator as RunningCoordinator))?.id === 1 ? true : undefined), 5000);

    const noCertificate = await postTls(`${url}/v1/heartbeat`, forged(1), { ca });
    expect(noCertificate.status).toBe(401);
    expect(noCertificate.body).toMatch(/no member certificate/);
    // Member 2's own certificate, speaking for member 1: refused, whatever it claims.
    const otherMember = await postTls(`${url}/v1/heartbeat`, forged(1), { ca, ...member(2) });
    expect(otherMember.status).toBe(401);
    expect(otherMember.body).toMatch(/member 2 of cluster .*report is of member 1/);
    const newMember = await postTls(`${url}/v1/register`, forged(9), { ca, ...member(2) });
    expect(newMember.status).toBe(401);

    expect(await leaderOf(coordinator)).toMatchObject({ id: 1, term: 3 });
    expect(coordinator.view()[0]?.members.map((m) => m.id)).toEqual([1]);
    // Member 2 speaking for itself is taken: certificates bind, they do not just gate.
    const itself = await postTls(`${url}/v1/heartbeat`, heartbeatOf(2, { term: 3, leaderId: 1 }), { ca, ...member(2) });
    expect(itself.status).toBe(200);
    // Readers of the view need no certificate.
    const view = await new Promise<number>((resolve, reject) => {
      httpsRequest(`${url}/v1/cluster`, { ca }, (response) => { response.resume(); resolve(response.statusCode ?? 0); }).on("error", reject).end();
    });
    expect(view).toBe(200);
  });

  it("without a credential configured it takes every report (loopback development) and says so", async () => {
    coordinator = await startCoordinator({ host: "127.0.0.1", port: 0 });
    expect(coordinator.authenticatesReports).toBe(false);
  });
});
