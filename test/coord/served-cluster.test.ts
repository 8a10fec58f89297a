import { afterEach, describe, expect, it } from "vitest";
import { HEARTBEAT_STRING_CHARS_MAX, Registry, validateCoordinatorConfig } from "../../src/coord/index.js";
import { CoordinatorUnderTest } from "./app-harness.js";
import { CLUSTER, heartbeatOf } from "./fixtures.js";

/** The id a cluster had before a quorum-loss recovery gave it CLUSTER (or a stranger's). */
const OLD_CLUSTER = "0ld00000-0000-4000-8000-000000000009";

interface ErrorBody { error: { code: string; message: string; servedClusterId?: string; clusters?: string[] } }

/**
 * A coordinator started with a cluster id (`--cluster-id`, what the operator sets) serves
 * that cluster only: after a recovery the old id's members cannot make GET /v1/cluster
 * ambiguous for forgetAfterMs, and nobody can add another cluster to it.
 */
describe("a coordinator that serves one cluster", () => {
  const coordinator = new CoordinatorUnderTest();
  const { post, get, events } = coordinator;
  const start = (clusterId?: string) => coordinator.start(clusterId === undefined ? {} : { clusterId });

  afterEach(coordinator.stop);

  it("without a cluster id, the old id's member beside the new one makes GET /v1/cluster ambiguous (the problem)", async () => {
    await start();
    await post("/v1/register", heartbeatOf(1, { role: "leader", term: 2 }));
    expect((await post("/v1/heartbeat", heartbeatOf(2, { clusterId: OLD_CLUSTER }))).status).toBe(200);
    const ambiguous = await get("/v1/cluster");
    expect(ambiguous.status).toBe(409);
    expect(((await ambiguous.json()) as ErrorBody).error.code).toBe("AMBIGUOUS_CLUSTER");
  });

  it("refuses a report of another cluster with 409 CLUSTER_MISMATCH, never tracks it, and keeps answering its own cluster", async () => {
    await start(CLUSTER);
    const empty = await get("/v1/cluster");
    expect(empty.status).toBe(404);
    expect(((await empty.json()) as ErrorBody).error.message).toContain(`serves cluster ${CLUSTER} only`);

    expect((await post("/v1/register", heartbeatOf(1, { role: "leader", term: 2 }))).status).toBe(200);
    for (const path of ["/v1/register", "/v1/heartbeat"]) {
      const refused = await post(path, heartbeatOf(2, { clusterId: OLD_CLUSTER, role: "leader", term: 9 }));
      expect(refused.status, path).toBe(409);
      const body = (await refused.json()) as ErrorBody;
      expect(body.error).toMatchObject({ code: "CLUSTER_MISMATCH", servedClusterId: CLUSTER });
      // What failed (whose report), why (which cluster is served) and what to do.
      expect(body.error.message).toContain(`serves cluster ${CLUSTER} only`);
      expect(body.error.message).toContain(`member 2 reports for cluster ${OLD_CLUSTER}`);
      expect(body.error.message).toContain("--coord");
    }

    const view = await get("/v1/cluster");
    expect(view.status).toBe(200);
    expect(await view.json()).toMatchObject({ clusterId: CLUSTER, leader: { id: 1, term: 2 }, members: [{ id: 1 }] });
    expect(await (await get("/v1/clusters")).json()).toEqual({ clusters: [CLUSTER] });
    expect(coordinator.running?.view().map((c) => c.clusterId)).toEqual([CLUSTER]);
    expect((await get(`/v1/cluster?clusterId=${OLD_CLUSTER}`)).status).toBe(404);

    const metrics = await (await get("/metrics")).text();
    expect(metrics).toContain('kvraft_coord_heartbeats_total{kind="register",result="mismatch"} 1');
    expect(metrics).toContain('kvraft_coord_heartbeats_total{kind="heartbeat",result="mismatch"} 1');
    expect(metrics).toContain('kvraft_coord_heartbeats_total{kind="register",result="accepted"} 1');
    expect(metrics).toContain("kvraft_coord_clusters 1");
    const refusals = events.filter((e) => e.type === "refused");
    expect(refusals).toHaveLength(2);
    expect(refusals[0]).toMatchObject({ clusterId: OLD_CLUSTER, id: 2, reason: expect.stringContaining(`serves cluster ${CLUSTER} only`) });
  });

  it("accepts every member of its own cluster", async () => {
    await start(CLUSTER);
    for (const id of [1, 2, 3]) expect((await post("/v1/heartbeat", heartbeatOf(id, { term: 1 }))).status).toBe(200);
    expect(coordinator.running?.view()[0]?.members.map((m) => m.id)).toEqual([1, 2, 3]);
  });

  it("the registry decides it, before anything is tracked or forgotten", () => {
    const registry = new Registry({ unreachableAfterMs: 1000, forgetAfterMs: 60_000, membersPerClusterMax: 64, clustersMax: 16, clusterId: CLUSTER });
    expect(registry.observe(heartbeatOf(1), 0)).toEqual({ result: "accepted", newMember: true });
    expect(registry.observe(heartbeatOf(1, { clusterId: OLD_CLUSTER }), 0)).toMatchObject({ result: "mismatch", servedClusterId: CLUSTER });
    expect(registry.clusterIds()).toEqual([CLUSTER]);
  });

  it("validates the cluster id at start: not empty, no surrounding white space, at most a heartbeat string's length", () => {
    expect(validateCoordinatorConfig({}).clusterId).toBeUndefined();
    expect(validateCoordinatorConfig({ clusterId: CLUSTER }).clusterId).toBe(CLUSTER);
    expect(validateCoordinatorConfig({ clusterId: "c".repeat(HEARTBEAT_STRING_CHARS_MAX) }).clusterId).toHaveLength(HEARTBEAT_STRING_CHARS_MAX);
    expect(() => validateCoordinatorConfig({ clusterId: "" })).toThrow(/clusterId: must not be empty \(--cluster-id/);
    expect(() => validateCoordinatorConfig({ clusterId: "  " })).toThrow(/clusterId: must not be empty/);
    expect(() => validateCoordinatorConfig({ clusterId: `${CLUSTER}\n` })).toThrow(/clusterId: must not start or end with white space/);
    expect(() => validateCoordinatorConfig({ clusterId: "c".repeat(HEARTBEAT_STRING_CHARS_MAX + 1) })).toThrow(new RegExp(`at most ${HEARTBEAT_STRING_CHARS_MAX} characters`));
  });
});
