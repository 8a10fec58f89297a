import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createClient, type ClientEvent, type KvClient, type PutResult, type WatchEvent } from "../../src/client/index.js";
import { ProcessCluster } from "../support/process-cluster.js";
import { waitFor } from "../support/wait.js";
import { clientEndpoints } from "./endpoints.js";

/**
 * The client library against real `kvraft server` processes (`npm test` builds dist/
 * first; alone, run npx tsc -p tsconfig.build.json).
 */
const WRITERS = 8;
const PUTS_PER_WRITER = 40;
/** Acknowledged puts before the leader is killed: the kill lands in the middle of the stream. */
const PUTS_BEFORE_KILL = 80;
const CALL_DEADLINE_MS = 20_000;

describe("client library on a 3-member process cluster", () => {
  let cluster: ProcessCluster;
  const clients: KvClient[] = [];

  const connect = (events?: ClientEvent[], ids?: number[]): KvClient => {
    const client = createClient({
      endpoints: clientEndpoints(cluster, ids), deadlineMs: CALL_DEADLINE_MS, clientName: "cluster-test",
      ...(events === undefined ? {} : { onEvent: (event: ClientEvent) => events.push(event) }),
    });
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    cluster = await ProcessCluster.create(3);
    cluster.startAll();
    await cluster.waitForLeader();
  }, 60_000);

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  /** Kills the leader, restarts it once another leads, and waits until every member agrees again. */
  async function killLeaderAndRecover(leader: number): Promise<void> {
    await cluster.kill(leader);
    await waitFor("a new leader", async () => {
      const others = [...cluster.ports.keys()].filter((id) => id !== leader);
      const statuses = await Promise.all(others.map((id) => cluster.status(id).catch(() => undefined)));
      return statuses.some((s) => s?.role === "leader") ? true : undefined;
    }, 20_000);
    cluster.start(leader);
    await cluster.waitForLeader(20_000);
  }

  it("a client that knows only a follower reaches the leader", async () => {
    const leader = await cluster.waitForLeader();
    const follower = [...cluster.ports.keys()].find((id) => id !== leader) as number;
    const events: ClientEvent[] = [];
    const client = connect(events, [follower]);
    await client.put("via-follower", "1");
    expect(events).toContainEqual(expect.objectContaining({ type: "connected", memberId: leader, leaderId: leader }));
    expect((await client.status()).memberId).toBe(leader);
    expect((await client.memberList()).voters).toEqual([1, 2, 3]);
  });

  it("a leader SIGKILL in the middle of a stream of puts loses no acknowledged put and applies none twice", async () => {
    const leader = await cluster.waitForLeader();
    const events: ClientEvent[] = [];
    const client = connect(events);
    const acknowledged = new Map<string, { value: string; result: PutResult }>();
    let killing: Promise<void> | undefined;
    const writer = async (w: number): Promise<void> => {
      for (let i = 0; i < PUTS_PER_WRITER; i++) {
        const key = `stream/${w}/${i}`;
        const value = `${w}.${i}`;
        acknowledged.set(key, { value, result: await client.put(key, value) });
        if (acknowledged.size === PUTS_BEFORE_KILL) killing = killLeaderAndRecover(leader);
      }
    };
    await Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));
    await killing;
    expect(acknowledged.size).toBe(WRITERS * PUTS_PER_WRITER);
    // The kill hit puts in flight: they were resent (same session and seq) to the new leader.
    expect(events.filter((e) => e.type === "retrying" && e.operation === "put").length).toBeGreaterThan(0);
    for (const [key, { value, result }] of acknowledged) {
      const entry = await client.get(key);
      expect(entry?.text(), key).toBe(value);
      // Applied a second time after the acknowledged one, the key would be at a later version;
      // applied once before it, it would have been created earlier than the acknowledged write.
      expect(entry?.version, key).toBe(result.version);
      expect(entry?.createVersion, key).toBe(result.version);
    }
    const listed = await client.list("stream/", { limit: 1000 });
    expect(listed.entries).toHaveLength(WRITERS * PUTS_PER_WRITER);
  });

  it("a watch resumes across a failover with no missed or repeated event", async () => {
    const leader = await cluster.waitForLeader();
    const watcherEvents: ClientEvent[] = [];
    const watcher = connect(watcherEvents);
    const writer = connect();
    const total = 40;
    const watch = watcher.watch("w/");
    await watch.ready;
    const seen: WatchEvent[] = [];
    const collecting = (async () => {
      for await (const event of watch) {
        seen.push(event);
        if (seen.length === total) return;
      }
    })();
    for (let i = 0; i < total / 2; i++) await writer.put(`w/${i}`, String(i));
    await waitFor("the first half of the events", () => (seen.length === total / 2 ? true : undefined), 10_000);
    await killLeaderAndRecover(leader);
    for (let i = total / 2; i < total; i++) await writer.put(`w/${i}`, String(i));
    await collecting;
    expect(seen.map((e) => (e.type === "put" ? e.keyText() : e.type))).toEqual(Array.from({ length: total }, (_, i) => `w/${i}`));
    const revisions = seen.map((e) => e.revision);
    expect(revisions).toEqual([...revisions].sort((a, b) => a - b));
    expect(new Set(revisions).size).toBe(total);
    expect(watcherEvents.some((e) => e.type === "watch-resumed")).toBe(true);
  });
});
