import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePorts } from "../support/ports.js";
import { ProcessCluster } from "../support/process-cluster.js";

/** --admin-port: the admin API leaves the HTTP port, so a network policy can admit only the operator. */
describe("kvraft server --admin-port", () => {
  let cluster: ProcessCluster;
  let adminPorts: Map<number, number>;

  beforeAll(async () => {
    cluster = await ProcessCluster.create(3);
    const ports = await freePorts(3);
    adminPorts = new Map([1, 2, 3].map((id, i) => [id, ports[i] as number]));
    for (const id of [1, 2, 3]) cluster.start(id, ["--admin-port", String(adminPorts.get(id))]);
    await cluster.waitForLeader(60_000);
  }, 90_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  const admin = (id: number, path: string, init?: RequestInit): Promise<Response> =>
    fetch(`http://127.0.0.1:${adminPorts.get(id)}${path}`, init);

  it("serves the admin API and /v1/status on the admin port, and not the admin API on the HTTP port", async () => {
    const members = await admin(1, "/v1/admin/members");
    expect(members.status, await members.clone().text()).toBe(200);
    expect((await admin(1, "/v1/status")).status).toBe(200);
    const onHttp = await fetch(`${cluster.http(1)}/v1/admin/members`);
    expect(onHttp.status).toBe(404);
    expect((await fetch(`${cluster.http(1)}/v1/status`)).status).toBe(200);
  });

  it("a follower's admin port proxies a change to the leader's admin port, which every member advertises", async () => {
    const leader = await cluster.waitForLeader();
    const follower = [1, 2, 3].find((id) => id !== leader) as number;
    const status = (await (await admin(follower, "/v1/status")).json()) as { members: { id: number; addresses: { admin?: string } }[] };
    expect(status.members.find((m) => m.id === leader)?.addresses.admin).toBe(`127.0.0.1:${adminPorts.get(leader)}`);
    const transfer = await admin(follower, "/v1/admin/transfer-leadership", {
      method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ to: follower }),
    });
    expect(transfer.status, await transfer.clone().text()).toBe(200);
    expect(await cluster.waitForLeader(30_000)).toBeGreaterThan(0);
  });
});
