import Memcached from "memcached";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemcachedServer } from "../../src/server/memcached/server.js";
import { FakeKvService } from "../support/fake-kv-service.js";
import { RawClient } from "./helpers.js";

/**
 * The npm `memcached` client, unchanged, against MemcachedServer: what works against
 * memcached must work against KVRaft. The client encodes value types in the flags
 * (2: JSON, 4: binary, 8: number), so they round-trip only if flags are kept.
 */

type Callback<T> = (error: unknown, data: T) => void;

/** The client's callback API as promises. */
function call<T>(operation: (callback: Callback<T>) => void): Promise<T> {
  return new Promise((resolve, reject) => operation((error, data) => (error ? reject(error) : resolve(data))));
}

describe("npm memcached client against MemcachedServer", () => {
  const service = new FakeKvService();
  const server = new MemcachedServer(service, { host: "127.0.0.1", port: 0, version: "0.1.0" });
  let client: Memcached;
  let port = 0;

  beforeAll(async () => {
    port = (await server.start()).port;
    // No retries or failover: a failure must show as a failed test, not a slow one.
    client = new Memcached(`127.0.0.1:${port}`, { retries: 0, failures: 0, timeout: 5000, poolSize: 1 });
  });

  afterAll(async () => {
    client?.end();
    await server.stop();
  });

  it("set and get a string", async () => {
    expect(await call<boolean>((cb) => client.set("greeting", "hello world", 0, cb))).toBe(true);
    expect(await call<string>((cb) => client.get("greeting", cb))).toBe("hello world");
  });

  it("JSON objects, numbers and Buffers round-trip through the flags", async () => {
    const object = { name: "kvraft", replicas: [1, 2, 3], nested: { ok: true } };
    await call((cb) => client.set("object", object, 0, cb));
    await call((cb) => client.set("number", 42.5, 0, cb));
    await call((cb) => client.set("binary", Buffer.from([0, 1, 2, 250]), 0, cb));
    expect(await call((cb) => client.get("object", cb))).toEqual(object);
    expect(await call((cb) => client.get("number", cb))).toBe(42.5);
    expect(Buffer.from(await call<Buffer>((cb) => client.get("binary", cb)))).toEqual(Buffer.from([0, 1, 2, 250]));
    // On the wire: the client's JSON flag (2) is stored with the key and sent back.
    const raw = await RawClient.connect(port);
    try {
      raw.send("get object\r\n");
      expect(await raw.readUntil((text) => text.endsWith("END\r\n"))).toMatch(/^VALUE object 2 \d+\r\n/);
    } finally {
      raw.destroy();
    }
  });

  it("gets answers the cas unique; cas with it stores, with a stale one does not", async () => {
    await call((cb) => client.set("counter-doc", "v1", 0, cb));
    const first = await call<{ [key: string]: string; cas: string }>((cb) => client.gets("counter-doc", cb));
    expect(first["counter-doc"]).toBe("v1");
    expect(await call<boolean>((cb) => client.cas("counter-doc", "v2", first.cas, 0, cb))).toBe(true);
    expect(await call<boolean>((cb) => client.cas("counter-doc", "v3", first.cas, 0, cb))).toBe(false);
    expect(await call((cb) => client.get("counter-doc", cb))).toBe("v2");
  });

  it("add, replace, append, prepend", async () => {
    expect(await call<boolean>((cb) => client.add("fresh", "a", 0, cb))).toBe(true);
    await expect(call((cb) => client.add("fresh", "b", 0, cb))).rejects.toThrow("Item is not stored");
    await expect(call((cb) => client.replace("absent", "b", 0, cb))).rejects.toThrow("Item is not stored");
    expect(await call<boolean>((cb) => client.replace("fresh", "b", 0, cb))).toBe(true);
    expect(await call<boolean>((cb) => client.append("fresh", "c", cb))).toBe(true);
    expect(await call<boolean>((cb) => client.prepend("fresh", "a", cb))).toBe(true);
    expect(await call((cb) => client.get("fresh", cb))).toBe("abc");
  });

  it("incr and decr", async () => {
    await call((cb) => client.set("hits", "10", 0, cb));
    expect(await call((cb) => client.incr("hits", 5, cb))).toBe(15);
    expect(await call((cb) => client.decr("hits", 20, cb))).toBe(0);
    expect(await call((cb) => client.incr("no-such-counter", 1, cb))).toBe(false);
  });

  it("touch sets a lifetime that the service's clock ends", async () => {
    await call((cb) => client.set("session", "data", 0, cb));
    // (@types/memcached declares touch's callback without the result the client passes.)
    expect(await call<boolean>((cb) => client.touch("session", 30, cb as (error: unknown) => void))).toBe(true);
    service.clock.advance(29_999);
    expect(await call((cb) => client.get("session", cb))).toBe("data");
    service.clock.advance(1);
    expect(await call((cb) => client.get("session", cb))).toBeUndefined();
  });

  it("del and a multi-get", async () => {
    await call((cb) => client.set("m1", "one", 0, cb));
    await call((cb) => client.set("m2", { two: 2 }, 0, cb));
    expect(await call((cb) => client.getMulti(["m1", "m2", "m3"], cb))).toEqual({ m1: "one", m2: { two: 2 } });
    expect(await call<boolean>((cb) => client.del("m1", cb))).toBe(true);
    expect(await call((cb) => client.getMulti(["m1", "m2"], cb))).toEqual({ m2: { two: 2 } });
  });

  it("version and stats", async () => {
    const [version] = await call<{ version: string }[]>((cb) => client.version(cb));
    expect(version?.version).toBe("0.1.0");
    const [stats] = await call<Record<string, unknown>[]>((cb) => client.stats(cb));
    expect(stats).toMatchObject({ pid: process.pid, version: "0.1.0", curr_connections: expect.any(Number) });
    expect(stats?.cmd_get).toBeGreaterThan(0);
  });

  // Last: it empties the store the other tests share.
  it("flush removes every key", async () => {
    await call((cb) => client.set("doomed", "x", 0, cb));
    expect(await call((cb) => client.flush(cb))).toEqual([true]);
    expect(await call((cb) => client.get("doomed", cb))).toBeUndefined();
  });
});
