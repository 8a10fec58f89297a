import { readdir, rm, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { InProcessCluster } from "../support/in-process-cluster.js";
import { waitFor } from "../support/wait.js";
import { DEFAULT_STORAGE_CONFIG } from "../../src/storage/index.js";

const LOG_ENTRIES_RETAINED = DEFAULT_STORAGE_CONFIG.logEntriesRetainedAfterSnapshot;

let cluster: InProcessCluster | undefined;
afterEach(async () => {
  await cluster?.stopAll();
  cluster = undefined;
});

/**
 * Issue 15, "a full disk is recoverable": a member whose disk refuses writes with ENOSPC
 * stays up, refuses writes with NOSPACE, raises DISK_FULL (status, /readyz, metric), keeps
 * serving reads, and resumes by itself once space is back, with no acknowledged write
 * lost. A disk that fails otherwise (EIO on a write, any failed fsync) stops the member
 * with a message that says what failed where.
 */
describe("a member whose disk is full", () => {
  const put = (c: InProcessCluster, id: number, key: string, value: string): Promise<Response> =>
    fetch(`${c.http(id)}/v1/kv/${key}`, { method: "PUT", body: value, signal: AbortSignal.timeout(10_000) });
  const get = (c: InProcessCluster, id: number, key: string, consistency?: string): Promise<Response> =>
    fetch(`${c.http(id)}/v1/kv/${key}${consistency === undefined ? "" : `?consistency=${consistency}`}`, { signal: AbortSignal.timeout(10_000) });
  const errorOf = async (response: Response): Promise<{ code: string; message: string; retryable: boolean }> =>
    ((await response.json()) as { error: { code: string; message: string; retryable: boolean } }).error;
  const diskFullGauge = async (c: InProcessCluster, id: number): Promise<number> => {
    const text = await (await fetch(`${c.http(id)}/metrics`)).text();
    const match = /^kvraft_server_disk_full (\d+)$/m.exec(text);
    if (match === null) throw new Error("kvraft_server_disk_full is not on /metrics");
    return Number(match[1]);
  };
  const alarms = (c: InProcessCluster, id: number): readonly string[] => c.server(id).status().alarms;
  const readyz = async (c: InProcessCluster, id: number): Promise<{ status: number; text: string }> => {
    const response = await fetch(`${c.http(id)}/readyz`);
    return { status: response.status, text: await response.text() };
  };

  it("a full follower is routed around, a full majority answers NOSPACE; reads go on, nobody stops, and all resumes once space is back", async () => {
    const c = (cluster = await InProcessCluster.create(3));
    await c.startAll();
    const leader = await c.waitForLeader();
    const [follower, other] = [1, 2, 3].filter((id) => id !== leader) as [number, number];
    const acknowledged = new Map<string, string>();
    const write = async (id: number, key: string): Promise<Response> => {
      const response = await put(c, id, key, `value-${key}`);
      if (response.status === 200) acknowledged.set(key, `value-${key}`);
      return response;
    };
    for (let i = 0; i < 5; i++) expect((await write(leader, `before-${i}`)).status).toBe(200);
    const applyAll = async (): Promise<void> => {
      const commit = c.server(await c.waitForLeader()).status().commitIndex;
      for (const id of [1, 2, 3]) await waitFor(`member ${id} to apply ${commit}`, () => c.server(id).status().appliedIndex >= commit || undefined, 15_000);
    };
    await applyAll();

    // A follower's disk fills: the other two are a quorum, so writes through any member succeed.
    c.setDisk(follower, { write: "ENOSPC" });
    for (let i = 0; i < 5; i++) {
      const response = await write(i % 2 === 0 ? follower : leader, `follower-full-${i}`);
      expect(response.status, await response.clone().text()).toBe(200);
    }
    await waitFor("the full follower's alarm", () => alarms(c, follower).includes("DISK_FULL") || undefined, 10_000);
    expect(await diskFullGauge(c, follower)).toBe(1);
    expect(await diskFullGauge(c, leader)).toBe(0);
    const notReady = await readyz(c, follower);
    expect(notReady.status).toBe(503);
    expect(notReady.text).toContain(`disk full: the disk of member ${follower} is full`);
    expect(notReady.text).toContain("writes resume by themselves");
    // Linearizable reads through the full follower are served (forwarded to the leader); serializable ones locally.
    const read = await get(c, follower, "follower-full-4");
    expect(read.status).toBe(200);
    expect(await read.text()).toBe("value-follower-full-4");
    expect(await (await get(c, follower, "before-4", "serializable")).text()).toBe("value-before-4");
    expect(c.log(follower)).toContain(`the disk of member ${follower} is full`);

    // The leader's disk fills too: two of three cannot persist, so writes are refused.
    c.setDisk(leader, { write: "ENOSPC" });
    // The write that finds the leader's disk full is held: never acknowledged while not durable.
    const held = write(leader, "held");
    await waitFor("the leader's alarm", () => alarms(c, leader).includes("DISK_FULL") || undefined, 10_000);
    const refused = await waitFor("NOSPACE from the full leader", async () => {
      const response = await write(leader, "refused");
      return response.status === 507 ? response : undefined;
    }, 10_000);
    const error = await errorOf(refused);
    expect(error.code).toBe("NOSPACE");
    expect(error.message).toContain(`the disk of member ${leader} is full`);
    expect(error.message).toContain("writes resume by themselves");
    expect(error.retryable).toBe(true);
    expect(await diskFullGauge(c, leader)).toBe(1);
    expect((await readyz(c, leader)).text).toContain("disk full");
    // Reads of what each member applied still work (the full follower stopped applying when its disk filled).
    for (const id of [leader, follower, other]) {
      const local = await get(c, id, "before-4", "serializable");
      expect(local.status).toBe(200);
      expect(await local.text()).toBe("value-before-4");
    }
    const fromLeader = await get(c, leader, "follower-full-4", "serializable");
    expect(await fromLeader.text()).toBe("value-follower-full-4");
    expect(acknowledged.has("refused")).toBe(false);
    // Nobody stopped: a full disk is not a storage failure.
    expect(c.stopped.size).toBe(0);
    for (const id of [leader, follower, other]) expect(c.server(id).replica.fatalError()).toBeUndefined();

    // Space comes back: the held writes go through, the alarms clear, writes succeed again.
    c.setDisk(leader, "ok");
    c.setDisk(follower, "ok");
    for (const id of [leader, follower]) {
      await waitFor(`member ${id}'s alarm to clear`, async () => !alarms(c, id).includes("DISK_FULL") && (await diskFullGauge(c, id)) === 0 || undefined, 15_000);
    }
    await held;
    await c.waitForLeader();
    for (let i = 0; i < 5; i++) {
      const response = await write(1 + (i % 3), `after-${i}`);
      expect(response.status, await response.clone().text()).toBe(200);
    }
    expect((await readyz(c, follower)).status).toBe(200);
    expect(c.log(leader)).toContain("disk-space-recovered");
    // No acknowledged write was lost, on any member.
    await applyAll();
    for (const [key, value] of acknowledged) {
      for (const id of [1, 2, 3]) {
        const response = await get(c, id, key, "serializable");
        expect(response.status, `${key} on member ${id}`).toBe(200);
        expect(await response.text()).toBe(value);
      }
    }
    expect(c.stopped.size).toBe(0);
  }, 90_000);

  it("a single member refuses writes with NOSPACE and resumes; EDQUOT counts as full too", async () => {
    const c = (cluster = await InProcessCluster.create(1));
    await c.startAll();
    await c.waitForLeader();
    expect((await put(c, 1, "a", "1")).status).toBe(200);
    c.setDisk(1, { write: "EDQUOT" });
    const held = put(c, 1, "b", "2");
    await waitFor("the alarm", () => alarms(c, 1).includes("DISK_FULL") || undefined, 10_000);
    const refused = await put(c, 1, "c", "3");
    expect(refused.status).toBe(507);
    expect((await errorOf(refused)).message).toContain("the disk of member 1 is full");
    expect(await (await get(c, 1, "a", "serializable")).text()).toBe("1");
    expect(c.stopped.size).toBe(0);
    c.setDisk(1, "ok");
    // The held write was never answered before it was durable; now it is (or it timed out, unanswered).
    expect([200, 504]).toContain((await held).status);
    await waitFor("the alarm to clear", () => !alarms(c, 1).includes("DISK_FULL") || undefined, 10_000);
    expect((await put(c, 1, "c", "3")).status).toBe(200);
    expect(await (await get(c, 1, "b")).text()).toBe("2");
    expect(await (await get(c, 1, "c")).text()).toBe("3");
  }, 60_000);
});

describe("a member that stops while its disk is full", () => {
  it("gives up the held write at once and stops cleanly, not as a storage failure", async () => {
    const c = (cluster = await InProcessCluster.create(1));
    await c.startAll();
    await c.waitForLeader();
    c.setDisk(1, { write: "ENOSPC" });
    void fetch(`${c.http(1)}/v1/kv/held`, { method: "PUT", body: "x" }).catch(() => undefined);
    await waitFor("the alarm", () => c.server(1).status().alarms.includes("DISK_FULL") || undefined, 10_000);
    const server = c.server(1);
    const started = Date.now();
    await server.shutdown("SIGTERM");
    expect(Date.now() - started).toBeLessThan(2000);
    expect(await server.stopped).toBeUndefined();
    c.servers.delete(1);
  }, 30_000);
});

describe("a member whose disk is full while it receives a snapshot", () => {
  it("holds the snapshot, retries it, and installs it once space is back", async () => {
    const c = (cluster = await InProcessCluster.create(3, { snapshotEveryEntries: 1000 }));
    await c.startAll();
    const leader = await c.waitForLeader();
    const follower = [1, 2, 3].find((id) => id !== leader) as number;
    await c.server(follower).shutdown("behind on purpose");
    c.servers.delete(follower);
    // Far enough ahead that the leader's log starts after the follower's (the storage keeps
    // LOG_ENTRIES_RETAINED entries behind its snapshot): it must send a snapshot.
    const writers = 32;
    await Promise.all(Array.from({ length: writers }, async (_, w) => {
      for (let i = w; i < LOG_ENTRIES_RETAINED + 200; i += writers) {
        const response = await fetch(`${c.http(leader)}/v1/kv/s${i}`, { method: "PUT", body: `v${i}` });
        expect(response.status).toBe(200);
      }
    }));
    // Only the snapshot's file fails: the follower takes the leader's term and then finds no room for the snapshot.
    c.setDisk(follower, { write: "ENOSPC", paths: /\.incoming/ });
    await c.start(follower);
    await waitFor("the follower's alarm", () => c.server(follower).status().alarms.includes("DISK_FULL") || undefined, 15_000);
    expect(c.log(follower)).toMatch(/the disk of member \d is full \(writing [^)]*\.incoming/);
    expect(c.stopped.size).toBe(0);
    // The cluster goes on without it.
    expect((await fetch(`${c.http(leader)}/v1/kv/during`, { method: "PUT", body: "x" })).status).toBe(200);
    c.setDisk(follower, "ok");
    await waitFor("the alarm to clear", () => !c.server(follower).status().alarms.includes("DISK_FULL") || undefined, 15_000);
    const commit = c.server(leader).status().commitIndex;
    await waitFor("the follower to catch up", () => c.server(follower).status().appliedIndex >= commit || undefined, 15_000);
    for (const key of ["s0", `s${LOG_ENTRIES_RETAINED + 199}`, "during"]) {
      const response = await fetch(`${c.http(follower)}/v1/kv/${key}?consistency=serializable`);
      expect(response.status, key).toBe(200);
    }
    expect(c.log(follower)).toContain("snapshot-installed");
    expect(c.stopped.size).toBe(0);
  }, 60_000);
});

describe("a member whose disk fails otherwise stops, saying why", () => {
  for (const [what, mode, expected] of [
    ["EIO on a write", { write: "EIO" }, /write failed \(file .*\.seg\)/],
    ["EIO on an fsync", { fsync: "EIO" }, /fsync failed: the state of the file on disk is unknown \(file .*\.seg\)/],
    ["ENOSPC on an fsync (the kernel may have dropped the pages)", { fsync: "ENOSPC" }, /fsync failed: the state of the file on disk is unknown/],
  ] as const) {
    it(`${what} is fatal`, async () => {
      const c = (cluster = await InProcessCluster.create(1));
      await c.startAll();
      await c.waitForLeader();
      expect((await fetch(`${c.http(1)}/v1/kv/a`, { method: "PUT", body: "1" })).status).toBe(200);
      c.setDisk(1, mode);
      void fetch(`${c.http(1)}/v1/kv/b`, { method: "PUT", body: "2" }).catch(() => undefined);
      const error = await waitFor("the member to stop", () => (c.stopped.has(1) ? c.stopped.get(1) ?? new Error("stopped without an error") : undefined), 10_000);
      expect(error.message).toMatch(expected);
      expect(error.message).toContain("What to do: restart the server");
      expect(c.log(1)).toMatch(/stopping: .*failed/);
    }, 30_000);
  }

  it("a data dir that cannot be read at startup is refused with an error naming the file", async () => {
    const c = (cluster = await InProcessCluster.create(1));
    await c.startAll();
    await c.waitForLeader();
    expect((await fetch(`${c.http(1)}/v1/kv/a`, { method: "PUT", body: "1" })).status).toBe(200);
    await c.server(1).shutdown("restart");
    c.servers.delete(1);
    // The newest segment becomes unreadable (a directory where the file was: EISDIR on read, as root too).
    const segments = (await readdir(c.dataDir(1))).filter((name) => name.endsWith(".seg")).sort();
    const newest = join(c.dataDir(1), segments[segments.length - 1] as string);
    await rm(newest);
    await mkdir(newest);
    const failure = await c.start(1).then(() => undefined, (error: unknown) => error as Error);
    expect(failure).toBeDefined();
    expect(failure?.message).toContain(segments[segments.length - 1] as string);
  }, 30_000);
});
