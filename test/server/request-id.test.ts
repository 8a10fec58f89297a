import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient } from "../../src/client/index.js";
import { parseEvents, parseMessageEvent } from "../../src/trace/index.js";
import { CLI, ProcessCluster } from "../support/process-cluster.js";
import { waitFor } from "../support/wait.js";

const run = promisify(execFile);
const TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const MADE_ID = /^[0-9a-f]{16}$/;

interface CurlAnswer { status: number; headers: Map<string, string> }

/** curl, the real client: `-D -` prints the response head, which is all these tests read. */
async function curl(url: string, args: readonly string[]): Promise<CurlAnswer> {
  const { stdout } = await run("curl", ["-s", "-o", "/dev/null", "-D", "-", "--max-time", "5", ...args, url]);
  const lines = stdout.split("\r\n").filter((line) => line !== "");
  const status = Number(/^HTTP\/\S+ (\d+)/.exec(lines[0] ?? "")?.[1]);
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon > 0) headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
  }
  return { status, headers };
}

/** The member's JSON log lines about request `reqId`. */
function linesAbout(cluster: ProcessCluster, id: number, reqId: string): Record<string, unknown>[] {
  return (cluster.logs.get(id) ?? [])
    .map((line) => { try { return JSON.parse(line) as Record<string, unknown>; } catch { return {}; } })
    .filter((line) => line["reqId"] === reqId);
}

describe("kvraft server: request ids and W3C trace context on the HTTP API (issue 18)", () => {
  let cluster: ProcessCluster;
  let leader: number;
  let follower: number;
  beforeAll(async () => {
    cluster = await ProcessCluster.create(3, ["--log-level", "debug"]);
    cluster.startAll();
    leader = await cluster.waitForLeader();
    follower = [1, 2, 3].find((id) => id !== leader) as number;
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  it("echoes a caller's X-Request-Id and logs it on the member", async () => {
    const answer = await curl(`${cluster.http(leader)}/v1/kv/a`, ["-X", "PUT", "--data-binary", "1", "-H", "X-Request-Id: caller-id-1"]);
    expect(answer.status).toBe(200);
    expect(answer.headers.get("x-request-id")).toBe("caller-id-1");
    await waitFor("the leader's log line about caller-id-1", async () => linesAbout(cluster, leader, "caller-id-1").length > 0 || undefined, 5000);
  });

  it("makes an id for a request without one", async () => {
    const answer = await curl(`${cluster.http(leader)}/v1/kv/a`, []);
    expect(answer.status).toBe(200);
    expect(answer.headers.get("x-request-id")).toMatch(MADE_ID);
  });

  it("replaces an id that is too long or not printable, and does not echo it", async () => {
    for (const bad of ["x".repeat(65), "two words", "caf\u00e9"]) {
      const answer = await curl(`${cluster.http(leader)}/v1/kv/a`, ["-H", `X-Request-Id: ${bad}`]);
      expect(answer.status, bad).toBe(200);
      expect(answer.headers.get("x-request-id"), bad).toMatch(MADE_ID);
    }
  });

  it("a follower forwards the request id and the caller's traceparent and tracestate to the leader's binary port, whose log line carries them", async () => {
    const answer = await curl(`${cluster.http(follower)}/v1/kv/forwarded`, [
      "-X", "PUT", "--data-binary", "v", "-H", "X-Request-Id: through-follower", "-H", `traceparent: ${TRACEPARENT}`, "-H", "tracestate: vendor=1",
    ]);
    expect(answer.status).toBe(200);
    expect(answer.headers.get("x-request-id")).toBe("through-follower");
    const onLeader = await waitFor("the leader's log line about the forwarded request", async () => {
      const lines = linesAbout(cluster, leader, "through-follower");
      return lines.length > 0 ? lines : undefined;
    }, 5000);
    expect(onLeader[0]).toMatchObject({ op: "write", result: "ok", client: `kvraft-member-${follower}`, traceparent: TRACEPARENT, tracestate: "vendor=1" });
    await waitFor("the follower's own line", async () => linesAbout(cluster, follower, "through-follower").length > 0 || undefined, 5000);
    expect(linesAbout(cluster, follower, "through-follower")[0]).toMatchObject({ traceparent: TRACEPARENT, path: "/v1/kv/forwarded" });
  });

  it("drops a malformed traceparent (and its tracestate) rather than passing it on", async () => {
    for (const [i, bad] of ["00-XYZ-00f067aa0ba902b7-01", "00-00000000000000000000000000000000-00f067aa0ba902b7-01", "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"].entries()) {
      const id = `bad-traceparent-${i}`;
      const answer = await curl(`${cluster.http(follower)}/v1/kv/forwarded`, ["-X", "PUT", "--data-binary", "v", "-H", `X-Request-Id: ${id}`, "-H", `traceparent: ${bad}`, "-H", "tracestate: vendor=1"]);
      expect(answer.status, bad).toBe(200);
      const onLeader = await waitFor(`the leader's line about ${id}`, async () => linesAbout(cluster, leader, id)[0], 5000);
      expect(onLeader, bad).not.toHaveProperty("traceparent");
      expect(onLeader, bad).not.toHaveProperty("tracestate");
    }
  });

  it("kvraft put --trace-log FILE appends the verb's send and answer, as host client-PID, with the id the member logs", async () => {
    const dir = await mkdtemp(join(tmpdir(), "kvraft-cli-trace-"));
    try {
      const file = join(dir, "client.log");
      const endpoint = cluster.http(follower).replace("http://", "");
      await run(process.execPath, [CLI, "put", "traced", "v", "--endpoints", endpoint, "--trace-log", file]);
      await run(process.execPath, [CLI, "get", "traced", "--endpoints", endpoint, "--trace-log", file]);
      const events = parseEvents(await readFile(file, "utf8"));
      const sends = events.map((e) => ({ host: e.host, ...parseMessageEvent(e.event) })).filter((m) => m.direction === "send");
      expect(sends.map((m) => m.kind)).toEqual(["put", "get"]);
      expect(new Set(events.map((e) => e.host)).size, "two verbs, two hosts").toBe(2);
      for (const send of sends) {
        expect(send.host).toMatch(/^client-\d+$/);
        expect(send.peer).toBe(endpoint);
        const id = send.requestId as string;
        expect(id).toMatch(MADE_ID);
        // The members do not trace here (the server's --trace-log is another change): the answer is a local event with the id.
        expect(events.some((e) => e.host === send.host && e.event.includes(`reply from=${endpoint} req=${id}`))).toBe(true);
        await waitFor(`the follower's log line about ${id}`, async () => linesAbout(cluster, follower, id)[0], 5000);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("the binary client library's request id reaches the leader's log when a follower forwards the call", async () => {
    const client = createClient({ endpoints: [`127.0.0.1:${cluster.ports.get(follower)?.client}`], forward: true, deadlineMs: 5000 });
    try {
      await client.get("forwarded", { requestId: "binary-through-follower" });
      const onLeader = await waitFor("the leader's line about the forwarded read", async () => linesAbout(cluster, leader, "binary-through-follower")[0], 5000);
      expect(onLeader).toMatchObject({ op: "get", result: "ok", client: `kvraft-member-${follower}` });
    } finally {
      await client.close();
    }
  });
});
