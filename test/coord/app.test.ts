import { afterEach, describe, expect, it } from "vitest";
import type { ClusterView } from "../../src/coord/index.js";
import { waitFor } from "../support/wait.js";
import { CoordinatorUnderTest } from "./app-harness.js";
import { CLUSTER, configuration, heartbeatOf } from "./fixtures.js";

/** The coordinator's HTTP API, in-process on a port picked at run time, with a test clock. */
describe("coordinator HTTP API", () => {
  let clock = 1_000_000;
  const { start, post, get, events, stop } = new CoordinatorUnderTest({ unreachableAfterMs: 1000, watchIntervalMs: 10, now: () => clock });

  afterEach(stop);

  it("register and heartbeat build the view GET /v1/cluster answers", async () => {
    await start();
    const leader = heartbeatOf(1, { role: "leader", term: 3, commitIndex: 9, appliedIndex: 9, members: configuration([[1, "voter", 0], [2, "voter", 2]]) });
    expect((await post("/v1/register", leader)).status).toBe(200);
    clock += 200;
    const accepted = await post("/v1/heartbeat", heartbeatOf(2, { term: 3, leaderId: 1, commitIndex: 7, appliedIndex: 7 }));
    expect(await accepted.json()).toEqual({ result: "accepted", unreachableAfterMs: 1000 });
    const view = (await (await get("/v1/cluster")).json()) as ClusterView;
    expect(view).toEqual({
      clusterId: CLUSTER,
      leader: { id: 1, term: 3, addresses: { peer: "127.0.0.1:7011", http: "127.0.0.1:7021", memcached: "127.0.0.1:7031" } },
      members: [
        { id: 1, membership: "voter", role: "leader", term: 3, commitIndex: 9, appliedIndex: 9, lag: 0, liveness: "alive", lastHeartbeatMsAgo: 200, addresses: { peer: "127.0.0.1:7011", http: "127.0.0.1:7021", memcached: "127.0.0.1:7031" } },
        { id: 2, membership: "voter", role: "follower", term: 3, commitIndex: 7, appliedIndex: 7, lag: 2, liveness: "alive", lastHeartbeatMsAgo: 0, addresses: { peer: "127.0.0.1:7012", http: "127.0.0.1:7022", memcached: "127.0.0.1:7032" } },
      ],
    });
  });

  it("refuses a body that does not fit the status schema, naming the field", async () => {
    await start();
    const bad = heartbeatOf(1);
    const response = await post("/v1/heartbeat", { ...bad, status: { ...bad.status, term: -1 } });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { message: string } }).error.message).toContain("status.term");
    const mismatched = await post("/v1/heartbeat", { ...bad, clusterId: "another" });
    expect(mismatched.status).toBe(400);
  });

  it("refuses a body over bodyBytesMax with 413", async () => {
    await start({ bodyBytesMax: 2048 });
    const big = heartbeatOf(1, { alarms: ["x".repeat(200), "y".repeat(200)], version: "v".repeat(200), members: configuration(Array.from({ length: 40 }, (_, i) => [i + 1, "voter", 0] as const)) });
    const response = await post("/v1/heartbeat", big);
    expect(response.status).toBe(413);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("TOO_LARGE");
  });

  it("answers a stale heartbeat with 200 and result stale, and a full table with 429", async () => {
    await start({ membersPerClusterMax: 1 });
    await post("/v1/heartbeat", heartbeatOf(1, { term: 5 }));
    expect(await (await post("/v1/heartbeat", heartbeatOf(1, { term: 4 }))).json()).toMatchObject({ result: "stale" });
    const refused = await post("/v1/heartbeat", heartbeatOf(2));
    expect(refused.status).toBe(429);
    expect(await refused.json()).toMatchObject({ error: { code: "LIMIT_REACHED", limit: "membersPerClusterMax" } });
  });

  it("GET /v1/cluster: 404 before anyone registers, 409 listing clusters when there are several, ?clusterId= selects", async () => {
    await start();
    expect((await get("/v1/cluster")).status).toBe(404);
    await post("/v1/heartbeat", heartbeatOf(1));
    const other = heartbeatOf(1, { clusterId: "zz-other", role: "leader", term: 9 });
    await post("/v1/heartbeat", other);
    const ambiguous = await get("/v1/cluster");
    expect(ambiguous.status).toBe(409);
    expect(await ambiguous.json()).toMatchObject({ error: { code: "AMBIGUOUS_CLUSTER", clusters: [CLUSTER, "zz-other"] } });
    const selected = (await (await get("/v1/cluster?clusterId=zz-other")).json()) as ClusterView;
    expect(selected.leader).toMatchObject({ id: 1, term: 9 });
    expect((await get("/v1/cluster?clusterId=nope")).status).toBe(404);
    expect(await (await get("/v1/clusters")).json()).toEqual({ clusters: [CLUSTER, "zz-other"] });
  });

  it("exposes /metrics (members by liveness, heartbeats, leader term) and /healthz", async () => {
    await start();
    await post("/v1/register", heartbeatOf(1, { role: "leader", term: 4 }));
    await post("/v1/heartbeat", heartbeatOf(2, { term: 4 }));
    clock += 5000;
    await post("/v1/heartbeat", heartbeatOf(2, { term: 4 }));
    const text = await (await get("/metrics")).text();
    expect(text).toContain(`kvraft_coord_members{cluster_id="${CLUSTER}",liveness="alive"} 1`);
    expect(text).toContain(`kvraft_coord_members{cluster_id="${CLUSTER}",liveness="unreachable"} 1`);
    expect(text).toContain('kvraft_coord_heartbeats_total{kind="register",result="accepted"} 1');
    expect(text).toContain('kvraft_coord_heartbeats_total{kind="heartbeat",result="accepted"} 2');
    expect(text).not.toContain("kvraft_coord_leader_term{"); // the leader went silent: no leader known
    expect(await (await get("/healthz")).json()).toEqual({ ok: true });
  });

  it("reports changes of the view as events: joined, leader, unreachable, alive again", async () => {
    await start();
    await post("/v1/register", heartbeatOf(1, { role: "leader", term: 2 }));
    await waitFor("the join to be noticed", () => events.some((e) => e.type === "leader-changed") || undefined);
    clock += 1500;
    await waitFor("member 1 to be seen unreachable", () => events.some((e) => e.type === "member-unreachable") || undefined);
    await post("/v1/heartbeat", heartbeatOf(1, { role: "leader", term: 2 }));
    await waitFor("member 1 to be seen again", () => events.some((e) => e.type === "member-alive") || undefined);
    expect(events.map((e) => e.type)).toEqual(["member-joined", "leader-changed", "member-unreachable", "leader-changed", "member-alive", "leader-changed"]);
  });
});
