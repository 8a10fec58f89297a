import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SeededRandom } from "../../src/raft/random.js";
import { ProcessCluster } from "../support/process-cluster.js";

/** Garbage in: errors out, and the member keeps serving. Plus the watch stream. */
describe("kvraft server: robustness of the HTTP and memcached ports, and watch", () => {
  let cluster: ProcessCluster;
  beforeAll(async () => {
    cluster = await ProcessCluster.create(1);
    cluster.startAll();
    await cluster.waitForLeader();
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  it("answers random methods, paths, query strings and bodies with errors, never by dying", async () => {
    const seed = Number(process.env["FUZZ_SEED"] ?? 7);
    const random = new SeededRandom(seed);
    const methods = ["GET", "PUT", "DELETE", "POST", "PATCH"];
    const paths = ["/v1/kv/", "/v1/kv", "/v1/kv/a%ZZ", "/v1/admin/members/x/promote", "/v1/internal/forward", "/v1/watch", "/nope", "/v1/kv/%00"];
    for (let i = 0; i < 150; i++) {
      const method = random.pick(methods);
      const path = `${random.pick(paths)}${random.next() < 0.5 ? `?limit=${random.int(100000) - 50}&expectVersion=-${random.int(9)}&ttl=abc` : ""}`;
      const body = method === "GET" || method === "DELETE" ? undefined : Uint8Array.from({ length: random.int(300) }, () => random.int(256));
      const response = await fetch(`${cluster.http(1)}${path}`, {
        method, ...(body === undefined ? {} : { body }),
        headers: random.next() < 0.5 ? { "content-type": "application/json" } : {},
        signal: AbortSignal.timeout(3000),
      });
      expect(response.status, `seed ${seed}, request ${i}: ${method} ${path}`).toBeLessThan(600);
      await response.arrayBuffer();
    }
    expect((await fetch(`${cluster.http(1)}/v1/status`)).status).toBe(200);
    expect((await fetch(`${cluster.http(1)}/v1/kv/after-fuzz`, { method: "PUT", body: "ok" })).status).toBe(200);
  }, 60_000);

  it("answers garbled and truncated memcached lines with protocol errors and keeps serving", async () => {
    const port = cluster.ports.get(1)?.memcached as number;
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, "127.0.0.1");
      let text = "";
      socket.on("data", (chunk) => {
        text += chunk.toString("latin1");
        if (text.includes("VERSION")) {
          socket.end();
          resolve(text);
        }
      });
      socket.on("error", reject);
      socket.write("bogus command\r\nset k 0 0 notanumber\r\nset k 0 0 3\r\nabcdef\r\nget\r\nversion\r\n");
    });
    expect(reply).toContain("ERROR");
    expect(reply).toContain("CLIENT_ERROR");
    expect(reply).toContain("VERSION");
  });

  it("streams watch events as NDJSON from a revision", async () => {
    const first = (await (await fetch(`${cluster.http(1)}/v1/kv/w/1`, { method: "PUT", body: "one" })).json()) as { revision: number };
    const abort = new AbortController();
    const response = await fetch(`${cluster.http(1)}/v1/watch?prefix=w/&fromRevision=${first.revision}`, { signal: abort.signal });
    expect(response.status).toBe(200);
    await fetch(`${cluster.http(1)}/v1/kv/w/2`, { method: "PUT", body: "two" });
    await fetch(`${cluster.http(1)}/v1/kv/w/1`, { method: "DELETE" });
    const reader = response.body?.getReader();
    let text = "";
    while (text.split("\n").filter((l) => l !== "").length < 3) {
      const chunk = await reader?.read();
      if (chunk === undefined || chunk.done) break;
      text += new TextDecoder().decode(chunk.value);
    }
    abort.abort();
    const events = text.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as { type: string; key: string; revision: number });
    expect(events.map((e) => `${e.type} ${e.key}`)).toEqual(["put w/1", "put w/2", "delete w/1"]);
    expect(events[0]?.revision).toBe(first.revision);
  }, 30_000);
});
