import { type ChildProcess, spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient, type KvClient } from "../../src/client/index.js";
import type { ClusterView } from "../../src/coord/index.js";
import { freePorts } from "../support/ports.js";
import { CLI, ProcessCluster } from "../support/process-cluster.js";
import { waitFor } from "../support/wait.js";

/**
 * The coordinator is for discovery only: killed, the cluster and its clients do not
 * notice; restarted empty, it rebuilds its view from the next heartbeats.
 */
describe("coordinator killed and restarted", () => {
  let cluster: ProcessCluster;
  let coordinatorUrl: string;
  let coordPort: number;
  let coordinator: ChildProcess | undefined;

  const startCoordinator = async (): Promise<void> => {
    coordinator = spawn(process.execPath, [CLI, "coord", "--port", String(coordPort), "--unreachable-after-ms", "2000", "--log-level", "warn"], { stdio: "ignore" });
    await waitFor("the coordinator's /healthz", async () => ((await fetch(`${coordinatorUrl}/healthz`).catch(() => undefined))?.ok === true ? true : undefined));
  };
  const killCoordinator = async (): Promise<void> => {
    const child = coordinator;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
  };
  const viewShows = (leader: number): Promise<ClusterView> => waitFor(`the coordinator to show leader ${leader} and 3 alive members`, async () => {
    const response = await fetch(`${coordinatorUrl}/v1/cluster`).catch(() => undefined);
    if (response?.ok !== true) return undefined;
    const view = (await response.json()) as ClusterView;
    return view.leader?.id === leader && view.members.filter((m) => m.liveness === "alive").length === 3 ? view : undefined;
  }, 20_000);
  const put = (id: number, key: string, value: string): Promise<Response> => fetch(`${cluster.http(id)}/v1/kv/${key}`, { method: "PUT", body: value });
  const get = async (id: number, key: string): Promise<string> => (await fetch(`${cluster.http(id)}/v1/kv/${key}`)).text();

  beforeAll(async () => {
    [coordPort] = (await freePorts(1)) as [number];
    coordinatorUrl = `http://127.0.0.1:${coordPort}`;
    await startCoordinator();
    cluster = await ProcessCluster.create(3, ["--coord", coordinatorUrl]);
    cluster.startAll();
    await cluster.waitForLeader();
  }, 60_000);

  afterAll(async () => {
    await killCoordinator();
    await cluster?.stop();
  });

  it("shows the leader the members agree on", async () => {
    const view = await viewShows(await cluster.waitForLeader());
    expect(view.clusterId).toBe(cluster.clusterId);
    expect(view.members.map((m) => m.membership)).toEqual(["voter", "voter", "voter"]);
  });

  it("killed: writes and reads on every member keep working", async () => {
    await killCoordinator();
    const leader = await cluster.waitForLeader();
    const follower = [1, 2, 3].find((id) => id !== leader) as number;
    for (let i = 0; i < 10; i++) expect((await put(follower, `while-down-${i}`, `v${i}`)).status).toBe(200);
    for (const id of [1, 2, 3]) expect(await get(id, "while-down-9")).toBe("v9");
  });

  it("the client library found through the coordinator keeps working while it is down and after it returns", async () => {
    await startCoordinator();
    await viewShows(await cluster.waitForLeader());
    const client: KvClient = createClient({ coordinator: coordinatorUrl, deadlineMs: 15_000 });
    try {
      await client.put("lib-before", "1");
      await killCoordinator();
      await client.put("lib-while-down", "2");
      expect((await client.get("lib-before"))?.text()).toBe("1");
      await startCoordinator();
      await client.put("lib-after", "3");
      expect((await client.get("lib-while-down"))?.text()).toBe("2");
      expect((await client.get("lib-after"))?.text()).toBe("3");
    } finally {
      await client.close();
    }
  }, 60_000);

  it("restarted: rebuilds the same view from heartbeats, while clients keep writing", async () => {
    await killCoordinator();
    await startCoordinator();
    let writes = 0;
    const view = await waitFor("the view rebuilt while writing", async () => {
      expect((await put(1, "during-restart", String(++writes))).status).toBe(200);
      const response = await fetch(`${coordinatorUrl}/v1/cluster`);
      if (!response.ok) return undefined;
      const seen = (await response.json()) as ClusterView;
      return seen.leader !== null && seen.members.filter((m) => m.liveness === "alive").length === 3 ? seen : undefined;
    }, 20_000);
    expect(view.leader?.id).toBe(await cluster.waitForLeader());
    expect(await get(2, "during-restart")).toBe(String(writes));
  });
});
