/**
 * What Prometheus's own linter says of /metrics (issue 18): `promtool check metrics` on a
 * real member, a coordinator and the operator's registry prints nothing. It flagged the WAL's and the transport's
 * totals when they were exported as gauges (a counter's rate() over a gauge is wrong).
 */
import { execFile } from "node:child_process";
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCoordinator, type RunningCoordinator } from "../../src/coord/index.js";
import { OperatorMetrics } from "../../src/operator/controller/metrics.js";
import { toolBinary } from "../../tools/go-tools.mjs";
import { createClient } from "../../src/client/index.js";
import { ProcessCluster } from "../support/process-cluster.js";
import { waitFor } from "../support/wait.js";

/** Runs promtool check metrics on a /metrics text, the way `curl ... | promtool check metrics` does. */
async function promtoolCheck(metricsText: string): Promise<{ code: number; output: string }> {
  const promtool = await toolBinary("prometheus", "promtool");
  return new Promise((resolve, reject) => {
    const child = execFile(promtool, ["check", "metrics"], { encoding: "utf8", timeout: 30_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
      if (code === -1) reject(error as Error);
      else resolve({ code, output: `${stdout}${stderr}`.trim() });
    });
    child.stdin?.end(metricsText);
  });
}

async function metricsOf(baseUrl: string): Promise<string> {
  const response = await fetch(`${baseUrl}/metrics`, { signal: AbortSignal.timeout(5_000) });
  expect(response.ok).toBe(true);
  return response.text();
}

describe("promtool check metrics", () => {
  let cluster: ProcessCluster | undefined;
  let coordinator: RunningCoordinator | undefined;

  beforeAll(async () => {
    cluster = await ProcessCluster.create(1);
    cluster.startAll();
    await cluster.waitForLeader();
    coordinator = await startCoordinator({ host: "127.0.0.1", port: 0 });
  }, 60_000);

  afterAll(async () => {
    await coordinator?.stop();
    await cluster?.stop();
  });

  it("finds nothing to say of a member's /metrics (counters as counters, process metrics, build info)", async () => {
    if (cluster === undefined) throw new Error("the member did not start");
    const text = await metricsOf(cluster.http(1));
    expect(text).toMatch(/# TYPE kvraft_storage_written_bytes_total counter/);
    expect(text).toMatch(/^kvraft_build_info\{component="server",version="[^"]+",node_version="[^"]+"\} 1$/m);
    expect(text).toMatch(/^kvraft_server_process_resident_memory_bytes \d+/m);
    expect(text).toMatch(/^kvraft_server_nodejs_eventloop_lag_seconds /m);
    expect(await promtoolCheck(text)).toEqual({ code: 0, output: "" });
  });

  it("counts requests of every protocol, by operation and result", async () => {
    if (cluster === undefined) throw new Error("the member did not start");
    const ports = cluster.ports.get(1) as { client: number; memcached: number };
    const client = createClient({ endpoints: [`127.0.0.1:${ports.client}`], deadlineMs: 15_000 });
    try {
      await client.put("binary-key", "v");
    } finally {
      await client.close();
    }
    const memcachedReply = await new Promise<string>((resolve, reject) => {
      const socket = connect({ host: "127.0.0.1", port: ports.memcached }, () => socket.end("set mc-key 0 0 1\r\nv\r\n"));
      let text = "";
      socket.on("data", (chunk) => { text += chunk.toString("latin1"); });
      socket.on("end", () => resolve(text));
      socket.on("error", reject);
    });
    expect(memcachedReply).toBe("STORED\r\n");
    await fetch(`${cluster.http(1)}/v1/kv/http-key`, { method: "PUT", body: "v", signal: AbortSignal.timeout(5_000) });
    const counted = (text: string, protocol: string, op: string): boolean =>
      new RegExp(`^kvraft_kv_requests_total\\{protocol="${protocol}",op="${op}",result="ok"\\} [1-9]`, "m").test(text);
    const text = await waitFor("a binary write, a memcached set and an HTTP put counted", async () => {
      const metrics = await metricsOf(cluster?.http(1) ?? "");
      return counted(metrics, "binary", "write") && counted(metrics, "memcached", "set") && counted(metrics, "http", "put") ? metrics : undefined;
    }, 10_000);
    expect(text).toMatch(/^kvraft_kv_request_seconds_count\{protocol="binary",op="write"\} [1-9]/m);
    expect(text).toMatch(/^kvraft_kv_request_seconds_count\{protocol="memcached",op="set"\} [1-9]/m);
  });

  it("finds nothing to say of a coordinator's /metrics", async () => {
    if (coordinator === undefined) throw new Error("the coordinator did not start");
    const text = await metricsOf(coordinator.url);
    expect(text).toMatch(/^kvraft_build_info\{component="coord",/m);
    expect(text).toMatch(/^kvraft_coord_process_cpu_seconds_total /m);
    expect(await promtoolCheck(text)).toEqual({ code: 0, output: "" });
  });

  it("finds nothing to say of the operator's metrics", async () => {
    const text = await new OperatorMetrics().registry.metrics();
    expect(text).toMatch(/^kvraft_build_info\{component="operator",/m);
    expect(await promtoolCheck(text)).toEqual({ code: 0, output: "" });
  });

  it("would say so of a counter exported as a gauge (the checker can fail)", async () => {
    const planted = "# HELP kvraft_planted_total A total exported as a gauge.\n# TYPE kvraft_planted_total gauge\nkvraft_planted_total 1\n";
    const result = await promtoolCheck(planted);
    expect(result.code).not.toBe(0);
    expect(result.output).toMatch(/kvraft_planted_total/);
  });
});
