import { afterEach, describe, expect, it } from "vitest";
import {
  ClientClosedError,
  KeyNotFoundError,
  TimeoutError,
  VersionMismatchError,
  createClient,
  type ClientEvent,
  type ClientOptions,
  type KvClient,
  type WatchEvent,
} from "../../src/client/index.js";
import { BusyError } from "../../src/server/errors.js";
import { freePorts } from "../support/ports.js";
import { FakeCluster } from "./fake-cluster.js";
import { FakeKvService } from "../support/fake-kv-service.js";
import { waitUntil } from "./raw-client.js";

/** Everything a test starts, stopped after it however it ends. */
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function cluster(size: number, service?: FakeKvService): Promise<FakeCluster> {
  const started = await FakeCluster.start(size, service);
  cleanups.push(() => started.stop());
  return started;
}

function client(options: ClientOptions): { client: KvClient; events: ClientEvent[] } {
  const events: ClientEvent[] = [];
  const created = createClient({ deadlineMs: 5_000, requestTimeoutMs: 1_000, ...options, onEvent: (event) => events.push(event) });
  cleanups.push(() => created.close());
  return { client: created, events };
}

describe("client: the data verbs", () => {
  it("put, get, getMany, list, cas and delete, with typed errors for the failures", async () => {
    const fake = await cluster(1);
    const { client: kv } = client({ endpoints: fake.endpoints() });
    const first = await kv.put("a", "1");
    expect(first.version).toBe(first.revision);
    const got = await kv.get("a");
    expect(got?.text()).toBe("1");
    expect(got?.keyText()).toBe("a");
    expect(got?.version).toBe(first.version);
    expect(await kv.get("missing")).toBeUndefined();
    await kv.put(new Uint8Array([0x62]), new Uint8Array([0xff, 0x00]), { ttlMs: 60_000 });
    expect((await kv.getMany(["a", "b", "c"])).map((e) => e?.value)).toEqual([new TextEncoder().encode("1"), new Uint8Array([0xff, 0x00]), undefined]);
    const page = await kv.list("", { limit: 1 });
    expect(page.entries.map((e) => e.keyText())).toEqual(["a"]);
    expect((await kv.list("", { after: page.nextAfter as Uint8Array })).entries.map((e) => e.keyText())).toEqual(["b"]);
    const mismatch = await kv.cas("a", first.version + 100, "2").catch((error: unknown) => error);
    expect(mismatch).toBeInstanceOf(VersionMismatchError);
    expect((mismatch as VersionMismatchError).currentVersion).toBe(first.version);
    const swapped = await kv.cas("a", first.version, "2");
    expect((await kv.delete("a")).previousVersion).toBe(swapped.version);
    await expect(kv.delete("a")).rejects.toBeInstanceOf(KeyNotFoundError);
    expect(await kv.status()).toMatchObject({ memberId: 1 });
  });

  it("pipelines a burst of calls over one connection", async () => {
    const fake = await cluster(1);
    const { client: kv } = client({ endpoints: fake.endpoints() });
    const results = await Promise.all(Array.from({ length: 300 }, (_, i) => kv.put(`k${i}`, `v${i}`)));
    expect(new Set(results.map((r) => r.revision)).size).toBe(300);
    expect(fake.server(1).stats().connectionsTotal).toBe(1);
  });
});

describe("client: finding the leader", () => {
  it("goes to the leader named in a follower's HELLO, and follows REDIRECT after leadership moves", async () => {
    const fake = await cluster(3);
    fake.moveLeader(2);
    const { client: kv, events } = client({ endpoints: [fake.address(1)] });
    await kv.put("k", "1");
    expect(events).toContainEqual({ type: "connected", address: fake.address(2), memberId: 2, leaderId: 2 });
    fake.moveLeader(3);
    await kv.put("k", "2");
    expect(events).toContainEqual(expect.objectContaining({ type: "redirected", from: fake.address(2), leaderId: 3, to: fake.address(3) }));
    expect(events).toContainEqual(expect.objectContaining({ type: "connected", address: fake.address(3) }));
  });

  it("with forward, stays on the member it reached (which forwards) instead of going to the leader", async () => {
    const fake = await cluster(2);
    fake.moveLeader(2);
    const { client: kv, events } = client({ endpoints: [fake.address(1)], forward: true });
    await kv.get("k");
    expect(events.filter((e) => e.type === "connected")).toEqual([expect.objectContaining({ address: fake.address(1) })]);
  });

  it("gives up at the deadline with an error naming every endpoint tried and the last error", async () => {
    const ports = await freePorts(2);
    const endpoints = ports.map((port) => `127.0.0.1:${port}`);
    const { client: kv } = client({ endpoints, deadlineMs: 600 });
    const started = Date.now();
    const error = await kv.get("k").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    const message = (error as TimeoutError).message;
    for (const endpoint of endpoints) expect(message).toContain(endpoint);
    expect(message).toMatch(/last error: no leader found/);
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it("retries BUSY until it clears", async () => {
    const fake = await cluster(1);
    const { client: kv, events } = client({ endpoints: fake.endpoints() });
    fake.service.failNext(new BusyError("too many proposals"));
    fake.service.failNext(new BusyError("too many proposals"));
    await kv.get("k");
    expect(events.filter((e) => e.type === "retrying")).toHaveLength(2);
  });
});

describe("client: exactly-once writes", () => {
  it("a write applied whose reply was lost in a crash is resent with the same session and seq, and applied once", async () => {
    const fake = await cluster(3);
    const { client: kv } = client({ endpoints: fake.endpoints() });
    await kv.put("warm-up", "x");
    let crashed = false;
    fake.service.afterApply = () => {
      if (crashed) return;
      crashed = true;
      // The leader dies after applying, before answering: the client cannot know the outcome.
      void fake.crash(1);
      fake.moveLeader(2);
    };
    const result = await kv.put("once", "1");
    const sent = fake.service.writes.filter((w) => w.type === "put" && new TextDecoder().decode(w.key) === "once");
    expect(sent).toHaveLength(2);
    expect(sent[1]?.session).toEqual(sent[0]?.session);
    const stored = await kv.get("once");
    // Applied twice, the key would be at a later version than the one the client was told.
    expect(stored?.version).toBe(result.version);
    expect(stored?.createVersion).toBe(result.version);
  });

  it("a write refused because the session expired starts over once in a new session", async () => {
    const fake = await cluster(1, new FakeKvService({ kvConfig: { sessionsMax: 1 } }));
    const { client: kv, events } = client({ endpoints: fake.endpoints() });
    await kv.put("k", "1");
    // Another session takes the only slot, evicting the client's.
    await fake.service.registerSession();
    await kv.put("k", "2");
    expect((await kv.get("k"))?.text()).toBe("2");
    expect(events.filter((e) => e.type === "session-registered" || e.type === "session-expired").map((e) => e.type)).toEqual(["session-registered", "session-expired", "session-registered"]);
  });
});

describe("client: watch", () => {
  it("delivers events in revision order and resumes on the new leader after a crash, with no gap and no repeat", async () => {
    const fake = await cluster(3);
    const { client: kv, events: clientEvents } = client({ endpoints: fake.endpoints() });
    const watch = kv.watch("w/");
    await watch.ready;
    const seen: WatchEvent[] = [];
    const collecting = (async () => {
      for await (const event of watch) {
        seen.push(event);
        if (seen.length === 10) return;
      }
    })();
    for (let i = 0; i < 5; i++) await kv.put(`w/${i}`, String(i));
    await waitUntil("the first five events", () => seen.length === 5);
    await fake.crash(1);
    fake.moveLeader(2);
    for (let i = 5; i < 10; i++) await kv.put(`w/${i}`, String(i));
    await collecting;
    expect(seen.map((e) => (e.type === "put" ? e.keyText() : e.type))).toEqual(Array.from({ length: 10 }, (_, i) => `w/${i}`));
    expect(seen.map((e) => e.revision)).toEqual([...seen.map((e) => e.revision)].sort((a, b) => a - b));
    expect(clientEvents.some((e) => e.type === "watch-resumed")).toBe(true);
  });

  it("from a given revision replays history, and close() ends the iteration", async () => {
    const fake = await cluster(1);
    const { client: kv } = client({ endpoints: fake.endpoints() });
    const first = await kv.put("h/a", "1");
    await kv.put("h/b", "2");
    const watch = kv.watch("h/", { fromRevision: first.revision });
    const seen: string[] = [];
    for await (const event of watch) {
      if (event.type === "put") seen.push(event.text());
      if (seen.length === 2) watch.close();
    }
    expect(seen).toEqual(["1", "2"]);
  });

  it("close() ends watches and fails later calls with ClientClosedError", async () => {
    const fake = await cluster(1);
    const { client: kv } = client({ endpoints: fake.endpoints() });
    const watch = kv.watch("x/");
    const iterator = watch[Symbol.asyncIterator]();
    const next = iterator.next();
    await watch.ready;
    await kv.close();
    expect(await next).toEqual({ done: true, value: undefined });
    await expect(kv.get("k")).rejects.toBeInstanceOf(ClientClosedError);
  });
});
