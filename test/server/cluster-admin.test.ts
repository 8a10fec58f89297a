import { spawnSync } from "node:child_process";
import { rm } from "node:fs/promises";
import Memcached from "memcached";
import { afterEach, describe, expect, it } from "vitest";
import { CLI, ProcessCluster } from "../support/process-cluster.js";
import { waitFor } from "../support/wait.js";

/** Membership through the admin API, snapshots, the quota and memcached, on real processes. */
describe("kvraft server: admin, snapshots, quota, memcached", () => {
  let cluster: ProcessCluster | undefined;
  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
  });

  const put = (c: ProcessCluster, id: number, key: string, value: string): Promise<Response> =>
    fetch(`${c.http(id)}/v1/kv/${key}`, { method: "PUT", body: value });

  it("a wiped member rejoins with `existing`: it waits outside the configuration, is re-added as a learner, catches up from a snapshot, and is promoted", async () => {
    cluster = await ProcessCluster.create(3, ["--snapshot-entries", "20"]);
    const c = cluster;
    c.startAll();
    const leader = await c.waitForLeader();
    const victim = [1, 2, 3].find((id) => id !== leader) as number;
    for (let i = 0; i < 60; i++) expect((await put(c, leader, `k${i}`, `v${i}`)).status).toBe(200);
    await c.kill(victim);
    await rm(c.dataDir(victim), { recursive: true, force: true });
    // The removal is refused while the leader has not heard the remaining follower for a
    // few heartbeats (a loaded machine can delay it): retry until it is accepted.
    const removed = await waitFor("the removal to be accepted", async () => {
      const r = await fetch(`${c.http(leader)}/v1/admin/members/${victim}`, { method: "DELETE" });
      return r.status === 200 ? r : undefined;
    });
    expect(removed.status, await removed.clone().text()).toBe(200);
    expect(((await removed.json()) as { voters: number[] }).voters).not.toContain(victim);
    const again = await fetch(`${c.http(leader)}/v1/admin/members/${victim}`, { method: "DELETE" });
    expect(((await again.json()) as { changed: boolean }).changed).toBe(false); // idempotent

    c.start(victim, ["--initial-cluster-state", "existing"]);
    const waiting = await waitFor("the wiped member to come up", () => c.status(victim).catch(() => undefined));
    expect(waiting.membership).toBe("none");
    expect(waiting.appliedIndex).toBe(0);

    expect((await fetch(`${c.http(leader)}/v1/admin/members/${victim}/learner`, { method: "POST" })).status).toBe(200);
    // Caught up means past every write made so far: the 60 puts sit after the no-op and
    // configuration entries, so "applied >= 60" could stop short of k59 (seen once).
    const committed = (await c.status(leader)).commitIndex;
    await waitFor("the learner to catch up from a snapshot", async () => {
      const s = await c.status(victim);
      return s.membership === "learner" && s.appliedIndex >= committed && !s.nonVoting ? s : undefined;
    }, 20_000);
    expect(await (await fetch(`${c.http(victim)}/v1/kv/k59?consistency=serializable`)).text()).toBe("v59");
    expect(c.describe()).not.toMatch(/"level":50/);

    const promoted = await waitFor("the promotion to be accepted", async () => {
      const r = await fetch(`${c.http(leader)}/v1/admin/members/${victim}/promote`, { method: "POST" });
      return r.status === 200 ? r : undefined;
    });
    expect(((await promoted.json()) as { voters: number[] }).voters).toContain(victim);
    const status = await waitFor("the member to be a voter", async () => {
      const s = await c.status(victim);
      return s.membership === "voter" ? s : undefined;
    });
    expect(status.nonVoting).toBe(false);
  }, 90_000);

  it("issue 16: `kvraft members add 9` with no server 9 leaves 9 a learner and exits non-zero; the admin API refuses its promotion (409 LEARNER_NOT_READY, never-acknowledged)", async () => {
    cluster = await ProcessCluster.create(3);
    const c = cluster;
    c.startAll();
    const leader = await c.waitForLeader();
    const endpoints = [1, 2, 3].map((id) => c.http(id).replace(/^http:\/\//, "")).join(",");
    const added = spawnSync(process.execPath, [CLI, "members", "add", "9", "--endpoints", endpoints], { encoding: "utf8", timeout: 30_000 });
    expect(added.status, added.stderr).not.toBe(0);
    expect(added.stdout).toContain("member 9 is a learner");
    expect(added.stderr).toMatch(/member 9 never caught up .*learner 9 has never acknowledged the leader: it is not running or cannot be reached; start it, then promote/);
    const refused = await fetch(`${c.http(leader)}/v1/admin/members/9/promote`, { method: "POST" });
    expect(refused.status).toBe(409);
    expect(await refused.json()).toMatchObject({ error: { code: "LEARNER_NOT_READY", reason: "never-acknowledged", retryable: false } });
    const members = (await (await fetch(`${c.http(leader)}/v1/admin/members`)).json()) as { voters: number[]; learners: number[] };
    expect(members.voters).not.toContain(9);
    expect(members.learners).toContain(9);
  }, 60_000);

  it("refuses a removal that would leave no healthy majority", async () => {
    cluster = await ProcessCluster.create(3);
    const c = cluster;
    c.startAll();
    const leader = await c.waitForLeader();
    const [a, b] = [1, 2, 3].filter((id) => id !== leader) as [number, number];
    await c.kill(a);
    await waitFor("the leader to see the killed member silent", async () => {
      const s = await c.status(leader);
      return s.members.find((m) => m.id === a && (m as { active?: boolean }).active === false);
    });
    await waitFor("the removal to be refused", async () => {
      const r = await fetch(`${c.http(leader)}/v1/admin/members/${b}`, { method: "DELETE" });
      return r.status === 409 ? r : undefined;
    }, 10_000);
  }, 60_000);

  it("the quota refuses writes that grow the data past it (NOSPACE), and deletes bring it back", async () => {
    cluster = await ProcessCluster.create(1, ["--quota-bytes", "2000"]);
    const c = cluster;
    c.startAll();
    await c.waitForLeader();
    const big = "x".repeat(500);
    let refused: Response | undefined;
    for (let i = 0; i < 10 && refused === undefined; i++) {
      const r = await put(c, 1, `big${i}`, big);
      if (r.status !== 200) refused = r;
    }
    expect(refused?.status).toBe(507);
    expect(((await refused?.json()) as { error: { code: string } }).error.code).toBe("NOSPACE");
    const status = await c.status(1);
    expect((status as unknown as { alarms: string[] }).alarms).toContain("NOSPACE");
    // The gauges the quota alerts read (docs/ALERTS.md: KVRaftQuotaNearlyFull, KVRaftQuotaExceeded).
    const metrics = async (): Promise<string> => (await fetch(`${c.http(1)}/metrics`)).text();
    const full = await metrics();
    expect(full).toMatch(/^kvraft_kv_quota_bytes 2000$/m);
    expect(full).toMatch(/^kvraft_kv_quota_exceeded 1$/m);
    expect(Number(/^kvraft_kv_size_bytes (\d+)$/m.exec(full)?.[1])).toBeGreaterThan(2000 * 0.7);
    expect((await fetch(`${c.http(1)}/v1/kv/big0`, { method: "DELETE" })).status).toBe(200);
    expect((await fetch(`${c.http(1)}/v1/kv/big1`, { method: "DELETE" })).status).toBe(200);
    expect((await put(c, 1, "small", "ok")).status).toBe(200);
    expect(await metrics()).toMatch(/^kvraft_kv_quota_exceeded 0$/m);
  }, 60_000);

  it("serves a real memcached client (the npm memcached package) on the memcached port of any member", async () => {
    cluster = await ProcessCluster.create(3);
    const c = cluster;
    c.startAll();
    const leader = await c.waitForLeader();
    const follower = [1, 2, 3].find((id) => id !== leader) as number;
    const client = new Memcached(`127.0.0.1:${c.ports.get(follower)?.memcached}`, { retries: 0, timeout: 5000 });
    try {
      const call = <T>(fn: (cb: (err: unknown, result: T) => void) => void): Promise<T> =>
        new Promise((resolve, reject) => fn((err, result) => (err ? reject(err as Error) : resolve(result))));
      await call((cb) => client.set("mc-key", { kind: "json", n: 1 }, 0, cb));
      expect(await call((cb) => client.get("mc-key", cb))).toEqual({ kind: "json", n: 1 });
      const gets = await call<Record<string, unknown>>((cb) => client.gets("mc-key", cb as (err: unknown, r: Record<string, unknown>) => void));
      const cas = String(gets["cas"]);
      await call((cb) => client.cas("mc-key", "second", cas, 0, cb));
      expect(await call((cb) => client.get("mc-key", cb))).toBe("second");
      await call((cb) => client.set("counter", 10, 0, cb));
      expect(await call((cb) => client.incr("counter", 5, cb))).toBe(15);
      expect(await (await fetch(`${c.http(leader)}/v1/kv/mc-key`)).text()).toBe("second");
    } finally {
      client.end();
    }
  }, 60_000);
});
