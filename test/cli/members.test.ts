import { type ChildProcess, spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, ProcessCluster } from "../support/process-cluster.js";
import { freePorts } from "../support/ports.js";
import { waitFor } from "../support/wait.js";

interface ClusterView { leader: { id: number } | null; members: { id: number; membership: string; liveness: string }[] }

/**
 * A brand-new server joins a running cluster: it starts with `existing`, announces
 * itself, `kvraft members add` adds it as a learner, it catches up and is promoted;
 * the coordinator shows it through all of this.
 */
describe("kvraft members add: a new server joins a running cluster", () => {
  let cluster: ProcessCluster;
  let coord: ChildProcess;
  let coordUrl: string;
  let joiner: ChildProcess | undefined;
  beforeAll(async () => {
    const [coordPort] = await freePorts(1);
    coordUrl = `http://127.0.0.1:${coordPort}`;
    coord = spawn(process.execPath, [CLI, "coord", "--port", String(coordPort), "--unreachable-after-ms", "1500"], { stdio: "ignore" });
    cluster = await ProcessCluster.create(3, ["--coord", coordUrl, "--snapshot-entries", "20"]);
    cluster.startAll();
    await cluster.waitForLeader();
  }, 60_000);
  afterAll(async () => {
    joiner?.kill("SIGKILL");
    coord?.kill("SIGKILL");
    await cluster?.stop();
  });

  const view = async (): Promise<ClusterView> => (await (await fetch(`${coordUrl}/v1/cluster`)).json()) as ClusterView;

  it("adds it as a learner, lets it catch up from a snapshot, promotes it, and the coordinator follows", async () => {
    const leader = await cluster.waitForLeader();
    for (let i = 0; i < 50; i++) await fetch(`${cluster.http(leader)}/v1/kv/k${i}`, { method: "PUT", body: `v${i}` });
    const [peer, http, memcached, client] = await freePorts(4);
    const peers = `${cluster.peersFlag()},4=127.0.0.1:${peer}`;
    joiner = spawn(process.execPath, [CLI, "server", "--id", "4", "--data-dir", `${cluster.root}/member-4`, "--peers", peers,
      "--initial-cluster-state", "existing", "--cluster-id", cluster.clusterId as string, "--listen-host", "127.0.0.1",
      "--http-port", String(http), "--memcached-port", String(memcached), "--client-port", String(client),
      "--heartbeat-ms", "50", "--election-ms", "500", "--coord", coordUrl], { stdio: "ignore" });
    await waitFor("the new server to report to the coordinator", async () => ((await view()).members.some((m) => m.id === 4) ? true : undefined));

    const endpoints = [1, 2, 3].map((id) => `127.0.0.1:${cluster.ports.get(id)?.http}`).join(",");
    const added = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [CLI, "members", "add", "4", "--endpoints", endpoints, "--catch-up-timeout", "30"], { stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (c: Buffer) => { stdout += c.toString(); });
      child.stderr.on("data", (c: Buffer) => { stderr += c.toString(); });
      child.once("exit", (code) => resolve({ code, stdout, stderr }));
    });
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toContain("member 4 is a learner");
    expect(added.stdout).toContain("member 4 is a voter");

    const member = await waitFor("the coordinator to show member 4 as an alive voter", async () => {
      const found = (await view()).members.find((m) => m.id === 4);
      return found?.membership === "voter" && found.liveness === "alive" ? found : undefined;
    });
    expect(member.membership).toBe("voter");
    const served = await fetch(`http://127.0.0.1:${http}/v1/kv/k49?consistency=serializable`);
    expect(await served.text()).toBe("v49");
  }, 90_000);
});
