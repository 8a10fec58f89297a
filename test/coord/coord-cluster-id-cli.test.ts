import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { HEARTBEAT_STRING_CHARS_MAX } from "../../src/coord/index.js";
import { runKvraft } from "../support/cli-run.js";
import { freePorts } from "../support/ports.js";
import { CLI } from "../support/process-cluster.js";
import { waitFor } from "../support/wait.js";
import { CLUSTER, heartbeatOf } from "./fixtures.js";

/** `kvraft coord --cluster-id` / KVRAFT_COORD_CLUSTER_ID, as the operator's pod runs it. */
describe("kvraft coord --cluster-id", () => {
  it("KVRAFT_COORD_CLUSTER_ID reaches the running coordinator: it says so at start, takes its cluster's reports and refuses another's", async () => {
    const [port] = (await freePorts(1)) as [number];
    const coord = spawn(process.execPath, [CLI, "coord", "--port", String(port), "--log-level", "info"], {
      stdio: ["ignore", "pipe", "ignore"], env: { ...process.env, KVRAFT_COORD_CLUSTER_ID: CLUSTER },
    });
    let log = "";
    coord.stdout.on("data", (chunk: Buffer) => { log += chunk.toString(); });
    const exited = new Promise<number | null>((resolve) => coord.once("exit", resolve));
    const url = `http://127.0.0.1:${port}`;
    const post = (body: unknown): Promise<Response> =>
      fetch(`${url}/v1/heartbeat`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    try {
      await waitFor("the coordinator to say which cluster it serves", () => (log.includes(`serving cluster ${CLUSTER} only`) ? true : undefined));
      expect((await post(heartbeatOf(1, { role: "leader", term: 1 }))).status).toBe(200);
      const refused = await post(heartbeatOf(2, { clusterId: "another-cluster" }));
      expect(refused.status).toBe(409);
      expect(await refused.json()).toMatchObject({ error: { code: "CLUSTER_MISMATCH", servedClusterId: CLUSTER } });
      expect(await (await fetch(`${url}/v1/cluster`)).json()).toMatchObject({ clusterId: CLUSTER, leader: { id: 1 } });
      coord.kill("SIGTERM");
      expect(await exited).toBe(0);
    } finally {
      coord.kill("SIGKILL");
      await exited;
    }
  }, 30_000);

  it("refuses a cluster id it could never match at start, with exit status 2 and the reason", async () => {
    const tooLong = await runKvraft(["coord", "--port", "0", "--cluster-id", "c".repeat(HEARTBEAT_STRING_CHARS_MAX + 1)]);
    expect(tooLong.code).toBe(2);
    expect(tooLong.stderr).toContain(`clusterId: must be at most ${HEARTBEAT_STRING_CHARS_MAX} characters`);
    const blank = await runKvraft(["coord", "--port", "0", "--cluster-id", " "]);
    expect(blank.code).toBe(2);
    expect(blank.stderr).toContain("clusterId: must not be empty (--cluster-id, KVRAFT_COORD_CLUSTER_ID)");
  }, 30_000);
});
