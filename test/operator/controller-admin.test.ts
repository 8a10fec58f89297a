import type { Server } from "node:http";
import express from "express";
import { afterEach, describe, expect, it } from "vitest";
import { adminBaseUrls, defaultAdminTemplate } from "../../src/operator/controller/admin-endpoints.js";
import { AdminCallError, HttpAdminApi } from "../../src/operator/controller/admin-http.js";
import type { KVRaftCluster, PodView } from "../../src/operator/types.js";
import { AdminDouble } from "../support/admin-double.js";
import { freePorts } from "../support/ports.js";

const cluster: KVRaftCluster = {
  apiVersion: "kvraft.io/v1alpha1", kind: "KVRaftCluster",
  metadata: { name: "demo", namespace: "prod", uid: "uid-1" },
  spec: { replicas: 3, image: "kvraft:1", storage: { size: "1Gi" } },
};
const pod = (ordinal: number, ready: boolean, terminating = false): PodView =>
  ({ ordinal, name: `demo-${ordinal}`, phase: "Running", ready, terminating, restartCount: 0 });

describe("admin API endpoints", () => {
  it("by default, each pod through the peer Service, ready pods first, terminating ones skipped", () => {
    const template = defaultAdminTemplate("demo", "cluster.local");
    expect(adminBaseUrls(template, cluster, [pod(0, false), pod(1, true), pod(2, true, true)])).toEqual([
      "http://demo-1.demo-peer.prod.svc.cluster.local:8081",
      "http://demo-0.demo-peer.prod.svc.cluster.local:8081",
    ]);
  });

  it("a template without {pod} is one URL, with {name} and {namespace} filled in", () => {
    expect(adminBaseUrls("http://{name}-client.{namespace}:8080", cluster, [pod(0, true)])).toEqual(["http://demo-client.prod:8080"]);
  });
});

describe("admin API over HTTP (against the test double)", () => {
  let double: AdminDouble | undefined;
  afterEach(async () => {
    await double?.stop();
    double = undefined;
  });

  it("reads the membership (health and lag from the leader's status) and makes idempotent changes", async () => {
    double = await AdminDouble.start({ clusterId: "uid-1", voters: [1, 2, 3] });
    const admin = new HttpAdminApi({ baseUrls: [double.url], token: "t", clusterId: "uid-1", deadlineMs: 2_000 });
    const before = await admin.members();
    expect(before.leaderId).toBe(1);
    expect(before.members).toEqual([1, 2, 3].map((id) => ({ id, role: "voter", healthy: true, lag: 0, matchIndex: 1 })));
    expect(before.term).toBe(1);
    await admin.addLearner(4);
    await admin.addLearner(4); // idempotent
    expect((await admin.members()).members.find((m) => m.id === 4)?.role).toBe("learner");
    await admin.promote(4);
    await admin.remove(4);
    expect((await admin.members()).members.map((m) => m.id)).toEqual([1, 2, 3]);
    await admin.transferLeadership(2);
    expect((await admin.members()).leaderId).toBe(2);
    const changes = double.calls.filter((c) => c.method !== "GET").map((c) => `${c.method} ${c.path}`);
    expect(changes).toEqual([
      "POST /v1/admin/members/4/learner", "POST /v1/admin/members/4/learner",
      "POST /v1/admin/members/4/promote", "DELETE /v1/admin/members/4",
      "POST /v1/admin/transfer-leadership",
    ]);
  });

  it("refuses to touch a cluster with another id", async () => {
    double = await AdminDouble.start({ clusterId: "someone-else", voters: [1] });
    const admin = new HttpAdminApi({ baseUrls: [double.url], token: undefined, clusterId: "uid-1", deadlineMs: 2_000 });
    await expect(admin.members()).rejects.toThrow(/belongs to cluster someone-else, not uid-1/);
    await expect(admin.addLearner(2)).rejects.toMatchObject({ code: "CLUSTER_MISMATCH" });
  });

  it("moves on to the next member when one is unreachable, and says so when none answers", async () => {
    double = await AdminDouble.start({ clusterId: "uid-1", voters: [1, 2, 3] });
    const [closed] = await freePorts(1);
    const admin = new HttpAdminApi({ baseUrls: [`http://127.0.0.1:${closed}`, double.url], token: undefined, clusterId: "uid-1", deadlineMs: 2_000 });
    expect((await admin.members()).members).toHaveLength(3);
    const none = new HttpAdminApi({ baseUrls: [`http://127.0.0.1:${closed}`], token: undefined, clusterId: "uid-1", deadlineMs: 2_000 });
    const error = await none.members().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AdminCallError);
    expect((error as AdminCallError).message).toMatch(/no member answered the admin API/);
    const empty = new HttpAdminApi({ baseUrls: [], token: undefined, clusterId: "uid-1", deadlineMs: 2_000 });
    await expect(empty.members()).rejects.toThrow(/no server pod exists yet/);
  });

  it("with no leader, the view is of a member that knows the configuration, not of one that came back empty", async () => {
    /** A member that hears no leader and knows `voters` (none: it came back with an empty disk). */
    const leaderless = (memberId: number, voters: number[]): Promise<Server> => {
      const app = express();
      app.get("/v1/admin/members", (_req, res) => res.json({ clusterId: "uid-1", voters, learners: [], leaderId: 0 }));
      app.get("/v1/status", (_req, res) => res.json({ memberId, clusterId: "uid-1", role: "follower", leaderId: 0, members: [] }));
      return new Promise((resolve) => {
        const server = app.listen(0, "127.0.0.1", () => resolve(server));
      });
    };
    const servers = [await leaderless(1, []), await leaderless(2, [1, 2, 3])];
    try {
      const baseUrls = servers.map((server) => `http://127.0.0.1:${(server.address() as { port: number }).port}`);
      const view = await new HttpAdminApi({ baseUrls, token: undefined, clusterId: "uid-1", deadlineMs: 2_000 }).members();
      expect(view).toMatchObject({ leaderId: 0, members: [{ id: 1, role: "voter", healthy: false }, { id: 2, role: "voter" }, { id: 3, role: "voter" }] });
    } finally {
      await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
    }
  });
});
