import { randomUUID } from "node:crypto";
import { cp, readdir, rm } from "node:fs/promises";
import { afterEach, describe, expect, it } from "vitest";
import { ProcessCluster } from "../support/process-cluster.js";
import { waitFor } from "../support/wait.js";

// Quorum-loss recovery on real `kvraft server` processes (docs/DISASTER-RECOVERY.md):
// two of three members are gone for good; the survivor becomes a new one-member cluster
// with --recover-from-member; a member of the old history that comes back is refused.

const put = (c: ProcessCluster, id: number, key: string, value: string): Promise<Response> =>
  fetch(`${c.http(id)}/v1/kv/${key}`, { method: "PUT", body: value, signal: AbortSignal.timeout(5000) });

/** A read of member `id`'s own state (serializable), or through its leadership (linearizable: waits for its log to apply). */
const get = async (c: ProcessCluster, id: number, key: string, consistency: "serializable" | "linearizable" = "serializable"): Promise<{ status: number; body: string }> => {
  const response = await fetch(`${c.http(id)}/v1/kv/${key}?consistency=${consistency}`, { signal: AbortSignal.timeout(5000) });
  return { status: response.status, body: await response.text() };
};

/** The value of one labelled counter in a member's /metrics, 0 when absent. */
async function counter(c: ProcessCluster, id: number, series: string): Promise<number> {
  const text = await (await fetch(`${c.http(id)}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

describe("quorum-loss recovery: --recover-from-member", () => {
  let cluster: ProcessCluster | undefined;
  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
  });

  it("the survivor serves alone with every entry it had committed; writes acknowledged only by the lost majority are lost; an old member that comes back is refused and never votes", async () => {
    cluster = await ProcessCluster.create(3, ["--snapshot-entries", "25"]);
    const c = cluster;
    c.startAll();
    const leader = await c.waitForLeader();
    const oldClusterId = c.clusterId as string;
    const survivor = [1, 2, 3].find((id) => id !== leader) as number;
    const other = [1, 2, 3].find((id) => id !== leader && id !== survivor) as number;

    // Enough writes that the survivor's state is a snapshot plus a log tail to replay.
    for (let i = 0; i < 40; i++) expect((await put(c, leader, `kept${i}`, `v${i}`)).status).toBe(200);
    const committed = (await c.status(leader)).commitIndex;
    // On the survivor's disk (the leader counts a match once it is durable); the survivor may
    // not yet have recorded them as committed: recovery keeps its whole log all the same.
    await waitFor("the survivor to hold every acknowledged write", async () => {
      const s = await c.status(leader);
      return (s.members.find((m) => m.id === survivor)?.matchIndex ?? 0) >= committed || undefined;
    });
    await c.kill(survivor);

    // Acknowledged by the leader and the other follower, a majority: then both are lost.
    for (let i = 0; i < 5; i++) expect((await put(c, leader, `lost${i}`, `w${i}`)).status).toBe(200);
    const oldCopy = `${c.root}/old-member-${leader}`;
    await c.kill(leader);
    await c.kill(other);
    await cp(c.dataDir(leader), oldCopy, { recursive: true });
    await rm(c.dataDir(leader), { recursive: true, force: true });
    await rm(c.dataDir(other), { recursive: true, force: true });

    const newClusterId = randomUUID();
    c.clusterId = newClusterId;
    c.start(survivor, ["--recover-from-member", String(survivor)]);
    const recovered = await waitFor("the survivor to lead its new one-member cluster", async () => {
      const s = await c.status(survivor);
      return s.role === "leader" ? s : undefined;
    }, 20_000);
    expect(recovered.clusterId).toBe(newClusterId);
    expect(recovered.members.map((m) => m.id)).toEqual([survivor]);
    expect(c.logs.get(survivor)?.join("\n")).toMatch(new RegExp(`recovered from member ${survivor}: cluster ${oldClusterId} .* is now cluster ${newClusterId}`));
    // The old files are set aside, not deleted.
    expect(await readdir(c.dataDir(survivor))).toContain(`before-recovery-${oldClusterId}`);

    for (let i = 0; i < 40; i++) expect(await get(c, survivor, `kept${i}`)).toEqual({ status: 200, body: `v${i}` });
    // What recovery loses: entries acknowledged by members that are gone and never sent to the survivor.
    for (let i = 0; i < 5; i++) expect((await get(c, survivor, `lost${i}`)).status).toBe(404);
    expect((await put(c, survivor, "after", "recovery")).status).toBe(200);

    // A restart with the same settings (a pod's) finds the new id and starts as usual.
    await c.kill(survivor, "SIGTERM");
    c.start(survivor, ["--recover-from-member", String(survivor)]);
    const restarted = await waitFor("the recovered member to lead again after a restart", async () => {
      const s = await c.status(survivor);
      return s.role === "leader" ? s : undefined;
    }, 20_000);
    expect(c.logs.get(survivor)?.join("\n")).toContain("already belongs to cluster");
    // Linearizable: a leader just restarted applies its log after its election.
    expect(await get(c, survivor, "after", "linearizable")).toEqual({ status: 200, body: "recovery" });

    // The old leader's disk comes back, with its old cluster id and its old configuration.
    await cp(oldCopy, c.dataDir(leader), { recursive: true });
    c.start(leader, ["--cluster-id", oldClusterId]);
    const refusals = `kvraft_transport_refused_total{reason="cluster-mismatch"}`;
    await waitFor("the survivor to refuse the old member's HELLO", async () => (await counter(c, survivor, refusals)) > 0 || undefined, 20_000);
    await waitFor("the old member to log the refusal", () => c.logs.get(leader)?.some((l) => l.includes(`member ${survivor} refused this member: cluster-mismatch`)) || undefined);
    const old = await c.status(leader);
    expect(old.clusterId).toBe(oldClusterId);
    expect(old.role).not.toBe("leader");
    const after = await c.status(survivor);
    // Nothing of the old history reached the new one: same leader, same term, same voters.
    expect(after).toMatchObject({ role: "leader", term: restarted.term, clusterId: newClusterId });
    expect(after.members.map((m) => m.id)).toEqual([survivor]);
  }, 120_000);

  it("refuses to recover from an empty data dir, with a message that says what to do", async () => {
    cluster = await ProcessCluster.create(1);
    const c = cluster;
    c.clusterId = randomUUID();
    const child = c.start(1, ["--recover-from-member", "1"]);
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    expect(code).toBe(1);
    expect(c.logs.get(1)?.join("\n")).toMatch(/is empty: there is nothing to recover from here; recover from a member that kept its data, or restore a backup/);
  }, 30_000);

  it("refuses --recover-from-member without --cluster-id, and a member id below 1, before touching the data dir", async () => {
    cluster = await ProcessCluster.create(1);
    const c = cluster;
    for (const [args, expected] of [
      [["--recover-from-member", "1"], /--recover-from-member needs --cluster-id: the NEW cluster's id/],
      [["--recover-from-member", "0", "--cluster-id", "x"], /recoverFromMember: must be an integer in \[1, \d+\], got 0/],
    ] as const) {
      c.logs.delete(1);
      const code = await new Promise<number | null>((resolve) => c.start(1, args).once("exit", resolve));
      expect(code, c.describe()).toBe(2); // bad flags
      expect(c.logs.get(1)?.join("\n")).toMatch(expected);
    }
  }, 30_000);
});
