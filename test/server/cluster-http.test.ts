import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProcessCluster } from "../support/process-cluster.js";
import { waitFor } from "../support/wait.js";

/** A 3-member cluster of real `kvraft server` processes on loopback. */
describe("kvraft server: a 3-member cluster over HTTP", () => {
  let cluster: ProcessCluster;

  beforeAll(async () => {
    cluster = await ProcessCluster.create(3);
    cluster.startAll();
    await cluster.waitForLeader();
  }, 60_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  const put = (id: number, key: string, value: string, query = ""): Promise<Response> =>
    fetch(`${cluster.http(id)}/v1/kv/${encodeURIComponent(key)}${query}`, { method: "PUT", body: value });
  const get = (id: number, key: string): Promise<Response> => fetch(`${cluster.http(id)}/v1/kv/${encodeURIComponent(key)}`);

  it("elects one leader that every member knows", async () => {
    const leader = await cluster.waitForLeader();
    const statuses = await Promise.all([1, 2, 3].map((id) => cluster.status(id)));
    expect(statuses.filter((s) => s.role === "leader").map((s) => s.memberId)).toEqual([leader]);
    expect(new Set(statuses.map((s) => s.clusterId)).size).toBe(1);
    expect(statuses.every((s) => s.membership === "voter")).toBe(true);
  });

  it("writes on the leader and reads the raw value back from every member (followers forward)", async () => {
    const leader = await cluster.waitForLeader();
    const written = await put(leader, "greeting", "hello");
    expect(written.status, await written.clone().text()).toBe(200);
    const { version } = (await written.json()) as { version: number };
    for (const id of [1, 2, 3]) {
      const read = await get(id, "greeting");
      expect(read.status).toBe(200);
      expect(await read.text()).toBe("hello");
      expect(Number(read.headers.get("x-kvraft-version"))).toBe(version);
    }
  });

  it("forwards a write sent to a follower", async () => {
    const leader = await cluster.waitForLeader();
    const follower = [1, 2, 3].find((id) => id !== leader) as number;
    const written = await put(follower, "via-follower", "1");
    expect(written.status, await written.clone().text()).toBe(200);
    expect(await (await get(leader, "via-follower")).text()).toBe("1");
  });

  it("pages of one listing share the first page's revision, also through a follower", async () => {
    const leader = await cluster.waitForLeader();
    const follower = [1, 2, 3].find((id) => id !== leader) as number;
    for (const key of ["a", "b", "c"]) expect((await put(leader, `pages/${key}`, "1")).status).toBe(200);
    const list = async (query: string): Promise<{ revision: number; items: { key: string; value: string }[]; next: string | null }> => {
      const response = await fetch(`${cluster.http(follower)}/v1/kv?prefix=pages/&limit=2${query}`);
      expect(response.status, await response.clone().text()).toBe(200);
      return (await response.json()) as { revision: number; items: { key: string; value: string }[]; next: string | null };
    };
    const first = await list("");
    expect(first.items.map((item) => item.key)).toEqual(["pages/a", "pages/b"]);
    expect((await put(leader, "pages/c", "2")).status).toBe(200);
    expect((await put(leader, "pages/bb", "2")).status).toBe(200);
    const second = await list(`&after=${encodeURIComponent(first.next as string)}&revision=${first.revision}`);
    expect(second.revision).toBe(first.revision);
    expect(second.items.map((item) => item.key)).toEqual(["pages/c"]);
    expect(Buffer.from(second.items[0]?.value ?? "", "base64").toString()).toBe("1");
    const gone = await fetch(`${cluster.http(follower)}/v1/kv?prefix=pages/&limit=2&after=pages/b&revision=${first.revision - 1}`);
    expect(gone.status).toBeGreaterThanOrEqual(400);
    expect(((await gone.json()) as { error: { code: string } }).error.code).toBe("COMPACTED");
  });

  it("answers ?redirect=true on a follower with a 307 to the leader", async () => {
    const leader = await cluster.waitForLeader();
    const follower = [1, 2, 3].find((id) => id !== leader) as number;
    const response = await fetch(`${cluster.http(follower)}/v1/kv/greeting?redirect=true`, { redirect: "manual" });
    expect(response.status).toBe(307);
    expect(response.headers.get("location")).toBe(`${cluster.http(leader)}/v1/kv/greeting?redirect=true`);
  });

  it("compare-and-set: a stale expected version is refused with 409 and the current version", async () => {
    const leader = await cluster.waitForLeader();
    const first = (await (await put(leader, "cas-key", "a", "?expectVersion=0")).json()) as { version: number };
    const refused = await put(leader, "cas-key", "b", "?expectVersion=0");
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { error: { code: string; currentVersion: number } }).error).toMatchObject({ code: "VERSION_MISMATCH", currentVersion: first.version });
    expect((await put(leader, "cas-key", "b", `?expectVersion=${first.version}`)).status).toBe(200);
  });

  it("answers a missing key with 404 JSON and deletes", async () => {
    const leader = await cluster.waitForLeader();
    expect((await get(leader, "never-written")).status).toBe(404);
    await put(leader, "doomed", "x");
    expect((await fetch(`${cluster.http(leader)}/v1/kv/doomed`, { method: "DELETE" })).status).toBe(200);
    expect((await get(leader, "doomed")).status).toBe(404);
  });

  it("survives a SIGKILL of the leader: a new leader serves every acknowledged write", async () => {
    const leader = await cluster.waitForLeader();
    const acknowledged: string[] = [];
    for (let i = 0; i < 20; i++) {
      if ((await put(leader, `k${i}`, `v${i}`)).status === 200) acknowledged.push(`k${i}`);
    }
    await cluster.kill(leader);
    const next = await waitFor("a new leader", async () => {
      const others = [1, 2, 3].filter((id) => id !== leader);
      for (const id of others) {
        const status = await cluster.status(id).catch(() => undefined);
        if (status?.role === "leader") return id;
      }
      return undefined;
    });
    for (const key of acknowledged) expect(await (await get(next, key)).text()).toBe(`v${key.slice(1)}`);
    cluster.start(leader);
    await waitFor("the old leader to rejoin and catch up", async () => {
      const status = await cluster.status(leader).catch(() => undefined);
      return status !== undefined && status.leaderId === next && status.appliedIndex > 0 ? true : undefined;
    });
    expect(await (await get(leader, "k19")).text()).toBe("v19");
  }, 60_000);

  it("exposes Prometheus metrics", async () => {
    const text = await (await fetch(`${cluster.http(1)}/metrics`)).text();
    for (const name of [
      "kvraft_raft_term", "kvraft_raft_role", "kvraft_raft_leader_changes_total", "kvraft_raft_commit_index", "kvraft_raft_applied_index",
      "kvraft_raft_proposals_total", "kvraft_raft_proposal_commit_seconds", "kvraft_raft_read_index_seconds", "kvraft_raft_inflight_messages",
      "kvraft_raft_snapshot_chunks_sent_total", "kvraft_storage_fsync_seconds_bucket", "kvraft_storage_written_bytes_total", "kvraft_storage_segments",
      "kvraft_storage_snapshot_bytes", "kvraft_storage_snapshot_seconds", "kvraft_transport_sent_bytes_total", "kvraft_transport_sent_messages_total",
      "kvraft_transport_reconnects_total", "kvraft_kv_keys", "kvraft_kv_requests_total", "kvraft_kv_request_seconds",
    ]) {
      expect(text).toContain(name);
    }
  });
});
