import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, ProcessCluster } from "../support/process-cluster.js";

interface Run { code: number | null; stdout: string; stderr: string }

function kvraft(args: readonly string[]): Promise<Run> {
  return new Promise((resolve) => {
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env["KVRAFT_ENDPOINTS"];
    delete env["KVRAFT_COORD"];
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "pipe", "pipe"], env });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => { stdout += c.toString(); });
    child.stderr.on("data", (c: Buffer) => { stderr += c.toString(); });
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** Parses the one JSON object a verb printed with --output json (fails the test with its output if not). */
function jsonOf<T>(run: Run): T {
  try {
    return JSON.parse(run.stdout) as T;
  } catch {
    throw new Error(`not one JSON object on stdout (exit ${run.code}):\n${run.stdout}\nstderr:\n${run.stderr}`);
  }
}

/**
 * Issue 16, the admin verbs: status from the leader's view with the answering member
 * named, snapshot metadata through a follower, and --output json on every admin verb.
 */
describe("kvraft status, snapshot save and members through any member", () => {
  let cluster: ProcessCluster;
  let leader: number;
  let follower: number;
  let scratch: string;
  const endpointOf = (id: number): string => `127.0.0.1:${cluster.ports.get(id)?.http}`;
  beforeAll(async () => {
    cluster = await ProcessCluster.create(3);
    cluster.startAll();
    leader = await cluster.waitForLeader();
    follower = [1, 2, 3].find((id) => id !== leader) as number;
    scratch = await mkdtemp(join(tmpdir(), "kvraft-admin-views-"));
    for (let i = 0; i < 5; i++) await fetch(`${cluster.http(leader)}/v1/kv/k${i}`, { method: "PUT", body: `v${i}` });
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
    await rm(scratch, { recursive: true, force: true });
  });

  it("snapshot save through a follower reports the leader's revision and cluster id, as text and as JSON", async () => {
    const file = join(scratch, "via-follower.kvsnap");
    const text = await kvraft(["snapshot", "save", file, "--endpoints", endpointOf(follower)]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).not.toContain("revision 0 ");
    expect(text.stdout).not.toContain("cluster ?");
    expect(text.stdout).toContain(`of cluster ${cluster.clusterId}`);
    const revision = Number(/saved revision (\d+)/.exec(text.stdout)?.[1]);
    expect(revision).toBeGreaterThanOrEqual(6);

    const asJson = await kvraft(["snapshot", "save", file, "--endpoints", endpointOf(follower), "--output", "json"]);
    expect(asJson.code, asJson.stderr).toBe(0);
    const saved = jsonOf<{ file: string; revision: number; clusterId: string; bytes: number; answeredBy: string }>(asJson);
    expect(saved).toMatchObject({ file, clusterId: cluster.clusterId, answeredBy: endpointOf(follower) });
    expect(saved.revision).toBeGreaterThanOrEqual(revision);
    expect(saved.bytes).toBe((await readFile(file)).length);

    const restored = await kvraft(["snapshot", "restore", file, "--data-dir", join(scratch, "restored"), "--output", "json"]);
    expect(restored.code, restored.stderr).toBe(0);
    expect(jsonOf<{ revision: number; keys: number; memberId: number }>(restored)).toMatchObject({ revision: saved.revision, keys: 5, memberId: 1 });
  }, 60_000);

  it("members add --learner-only, add-learner, promote and remove print one JSON object with --output json", async () => {
    const all = [1, 2, 3].map(endpointOf).join(",");
    const added = await kvraft(["members", "add", "9", "--learner-only", "--endpoints", all, "--output", "json"]);
    expect(added.code, added.stderr).toBe(0);
    expect(jsonOf<{ member: number; membership: string; learners: number[] }>(added)).toMatchObject({ member: 9, membership: "learner", learners: [9] });

    const again = await kvraft(["members", "add-learner", "9", "--endpoints", all, "--output", "json"]);
    expect(again.code, again.stderr).toBe(0);
    expect(jsonOf<{ changed: boolean; learners: number[] }>(again)).toMatchObject({ changed: false, learners: [9] });

    // Member 9 never runs: the promotion is refused, the reason on stderr, nothing half-printed on stdout.
    const promoted = await kvraft(["members", "promote", "9", "--endpoints", all, "--output", "json"]);
    expect(promoted.code).not.toBe(0);
    expect(promoted.stdout).toBe("");
    expect(promoted.stderr).toContain("promote member 9");

    const removed = await kvraft(["members", "remove", "9", "--endpoints", all, "--output", "json"]);
    expect(removed.code, removed.stderr).toBe(0);
    const result = jsonOf<{ changed: boolean; configIndex: number; voters: number[]; learners: number[] }>(removed);
    // changed may be false: a retry after a member's 5xx finds the removal already made (idempotent).
    expect(result).toMatchObject({ learners: [] });
    expect(typeof result.changed).toBe("boolean");
    expect(result.voters).toHaveLength(3);
  }, 60_000);

  it("status asked of a removed member shows the leader's view and names the member that answered", async () => {
    const all = [1, 2, 3].map(endpointOf).join(",");
    const removed = await kvraft(["members", "remove", String(follower), "--endpoints", all, "--output", "json"]);
    expect(removed.code, removed.stderr).toBe(0);
    expect(jsonOf<{ voters: number[] }>(removed).voters).not.toContain(follower);
    // Give the removed member time to lose the leader (it hears no more heartbeats).
    await new Promise((resolve) => setTimeout(resolve, 1500));

    const order = `${endpointOf(follower)},${[1, 2, 3].filter((id) => id !== follower).map(endpointOf).join(",")}`;
    const table = await kvraft(["status", "--endpoints", order]);
    expect(table.code, table.stderr).toBe(0);
    const firstLine = table.stdout.split("\n")[0];
    expect(firstLine).toBe(`view of leader ${leader} (answered by ${endpointOf(leader)})`);
    expect(table.stdout).toContain(`leader ${leader},`);

    const asJson = jsonOf<{ memberId: number; leaderId: number; role: string; answeredBy: string; leaderKnown: boolean; members: { id: number }[] }>(
      await kvraft(["status", "--endpoints", order, "--output", "json"]));
    expect(asJson).toMatchObject({ memberId: leader, leaderId: leader, role: "leader", answeredBy: endpointOf(leader), leaderKnown: true });
    expect(asJson.members.map((m) => m.id)).not.toContain(follower);

    // The voters gone, only the removed member answers: no leader known, said so, its view shown with the caveat.
    await Promise.all([1, 2, 3].filter((id) => id !== follower).map((id) => cluster.kill(id)));
    const alone = await kvraft(["status", "--endpoints", order, "--timeout", "1500"]);
    expect(alone.code, alone.stderr).toBe(0);
    expect(alone.stdout.split("\n")[0]).toBe(`no leader known: the view of member ${follower} (answered by ${endpointOf(follower)}), which may be stale`);
    const aloneJson = jsonOf<{ memberId: number; answeredBy: string; leaderKnown: boolean }>(
      await kvraft(["status", "--endpoints", order, "--timeout", "1500", "--output", "json"]));
    expect(aloneJson).toMatchObject({ memberId: follower, answeredBy: endpointOf(follower), leaderKnown: false });
  }, 60_000);
});
