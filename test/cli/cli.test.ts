import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, ProcessCluster } from "../support/process-cluster.js";
import { freePorts } from "../support/ports.js";
import { waitFor } from "../support/wait.js";

interface Run { code: number | null; stdout: string; stderr: string }

/** Runs `kvraft ...args` as a user would; resolves when it exits (or is stopped). */
function kvraft(args: readonly string[], stopWhen?: (stdout: string) => boolean): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stopWhen?.(stdout) === true) child.kill("SIGINT");
    });
    child.stderr.on("data", (chunk: Buffer) => { stderr += chunk.toString(); });
    child.once("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

/** The CLI verbs as child processes against a real 3-member cluster. */
describe("the kvraft CLI", () => {
  let cluster: ProcessCluster;
  let endpoints: string[];
  let scratch: string;
  beforeAll(async () => {
    cluster = await ProcessCluster.create(3);
    cluster.startAll();
    await cluster.waitForLeader();
    endpoints = ["--endpoints", [1, 2, 3].map((id) => `127.0.0.1:${cluster.ports.get(id)?.http}`).join(",")];
    scratch = await mkdtemp(join(tmpdir(), "kvraft-cli-"));
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
    await rm(scratch, { recursive: true, force: true });
  });

  it("put then get prints the value; get of a missing key exits 1", async () => {
    expect((await kvraft(["put", "greeting", "hello", ...endpoints])).code).toBe(0);
    const got = await kvraft(["get", "greeting", ...endpoints]);
    expect(got).toMatchObject({ code: 0, stdout: "hello\n" });
    const missing = await kvraft(["get", "nope", ...endpoints]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("does not exist");
  });

  it("--output json prints parseable JSON with the version and revision", async () => {
    const put = JSON.parse((await kvraft(["put", "j", "1", "--output", "json", ...endpoints])).stdout) as { version: number; revision: number };
    const got = JSON.parse((await kvraft(["get", "j", "--output", "json", ...endpoints])).stdout) as { value: string; version: number };
    expect(got).toMatchObject({ value: "1", version: put.version });
  });

  it("cas with a stale version exits 1; with the current one it stores; del removes", async () => {
    const { version } = JSON.parse((await kvraft(["put", "c", "a", "--output", "json", ...endpoints])).stdout) as { version: number };
    const stale = await kvraft(["cas", "c", String(version - 1), "b", ...endpoints]);
    expect(stale.code).toBe(1);
    expect((await kvraft(["cas", "c", String(version), "b", ...endpoints])).code).toBe(0);
    expect((await kvraft(["get", "c", ...endpoints])).stdout).toBe("b\n");
    expect((await kvraft(["del", "c", ...endpoints])).code).toBe(0);
    expect((await kvraft(["del", "c", ...endpoints])).code).toBe(1);
  });

  it("list prints keys under a prefix; status shows 3 voters and one leader, as a table and as JSON", async () => {
    await kvraft(["put", "user/1", "ada", ...endpoints]);
    await kvraft(["put", "user/2", "bob", ...endpoints]);
    const listed = await kvraft(["list", "user/", ...endpoints]);
    expect(listed.stdout).toMatch(/user\/1\tada/);
    expect(listed.stdout).toMatch(/user\/2\tbob/);
    const table = await kvraft(["status", ...endpoints]);
    expect(table.stdout).toMatch(/leader \d/);
    const status = JSON.parse((await kvraft(["status", "--output", "json", ...endpoints])).stdout) as { members: { membership: string }[]; leaderId: number };
    expect(status.members.filter((m) => m.membership === "voter")).toHaveLength(3);
    expect(status.leaderId).toBeGreaterThan(0);
  });

  it("watch prints changes as they happen", async () => {
    const watching = kvraft(["watch", "w/", ...endpoints], (out) => out.includes("w/b"));
    await waitFor("the watch to print the writes", async () => {
      await kvraft(["put", "w/a", "1", ...endpoints]);
      await kvraft(["put", "w/b", "2", ...endpoints]);
      return true;
    });
    const { stdout } = await watching;
    expect(stdout).toMatch(/put\tw\/b\t2/);
  });

  it("usage errors exit 2 with a message; an unreachable cluster exits 3 saying what it tried", async () => {
    const usage = await kvraft(["put", "only-a-key", ...endpoints]);
    expect(usage.code).toBe(2);
    const [port] = await freePorts(1);
    const down = await kvraft(["get", "x", "--endpoints", `127.0.0.1:${port}`]);
    expect(down.code).toBe(3);
    expect(down.stderr).toContain(`127.0.0.1:${port}`);
  }, 30_000);

  it("transfer-leader --output json prints the member leadership moves to", async () => {
    const before = await cluster.waitForLeader();
    const run = await kvraft(["transfer-leader", "--output", "json", ...endpoints]);
    expect(run.code, run.stderr).toBe(0);
    const { transferringTo } = JSON.parse(run.stdout) as { transferringTo: number };
    expect(transferringTo).not.toBe(before);
    await waitFor("the new leader", async () => ((await cluster.waitForLeader()) === transferringTo ? true : undefined));
  }, 30_000);

  it("snapshot save writes the state; restore founds a new one-member cluster that serves it", async () => {
    const file = join(scratch, "backup.kvsnap");
    const saved = await kvraft(["snapshot", "save", file, ...endpoints]);
    expect(saved.code, saved.stderr).toBe(0);
    const dataDir = join(scratch, "restored");
    const restored = await kvraft(["snapshot", "restore", file, "--data-dir", dataDir]);
    expect(restored.code, restored.stderr).toBe(0);
    expect((await kvraft(["snapshot", "restore", file, "--data-dir", dataDir])).code).toBe(2); // not empty
    const [peer, http] = await freePorts(2);
    const server = spawn(process.execPath, [CLI, "server", "--id", "1", "--data-dir", dataDir, "--peers", `1=127.0.0.1:${peer}`,
      "--listen-host", "127.0.0.1", "--http-port", String(http), "--memcached-port", "0", "--client-port", "0", "--election-ms", "300", "--heartbeat-ms", "50"], { stdio: "ignore" });
    try {
      const value = await waitFor("the restored cluster to serve", async () => {
        const response = await fetch(`http://127.0.0.1:${http}/v1/kv/greeting`).catch(() => undefined);
        return response?.status === 200 ? response.text() : undefined;
      });
      expect(value).toBe("hello");
      const status = (await (await fetch(`http://127.0.0.1:${http}/v1/status`)).json()) as { clusterId: string };
      expect(status.clusterId).not.toBe(cluster.clusterId);
    } finally {
      server.kill("SIGKILL");
    }
  }, 60_000);
});
