import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MEMCACHED_COMPATIBLE_VERSION } from "../../src/server/memcached/config.js";
import { ProcessCluster, type MemberPorts } from "../support/process-cluster.js";
import { RawClient } from "./helpers.js";

/**
 * Clients people already use, unchanged, against a real KVRaft member (a one-member
 * cluster of `kvraft server` processes): libmemcached's tools (Debian package
 * libmemcached-tools: memcping, memcstat) and meta-memcache, a Python client that speaks
 * only the meta protocol (PyPI meta-memcache, installed by .ci/run). A missing tool
 * fails the test with what to install: these tests never skip.
 */

const run = promisify(execFile);
const META_CLIENT = fileURLToPath(new URL("./meta_client.py", import.meta.url));
/** A tool run gives up after this long, so a hung client fails the test instead of the suite. */
const TOOL_TIMEOUT_MS = 30_000;

async function tool(command: string, args: readonly string[], install: string): Promise<{ stdout: string; stderr: string }> {
  try {
    return await run(command, args, { timeout: TOOL_TIMEOUT_MS });
  } catch (error) {
    const failure = error as NodeJS.ErrnoException & { stdout?: string; stderr?: string };
    if (failure.code === "ENOENT") throw new Error(`${command} is not installed: ${install} (.ci/run installs it on CI)`);
    throw new Error(`${command} ${args.join(" ")} failed (${failure.message}); stdout: ${failure.stdout ?? ""} stderr: ${failure.stderr ?? ""}`);
  }
}

describe("real memcached clients against a KVRaft member", () => {
  let cluster: ProcessCluster | undefined;
  let port = 0;

  beforeAll(async () => {
    cluster = await ProcessCluster.create(1);
    cluster.startAll();
    await cluster.waitForLeader();
    port = (cluster.ports.get(1) as MemberPorts).memcached;
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it("version answers a 1.6 version, and stats carries KVRaft's own", async () => {
    const raw = await RawClient.connect(port);
    try {
      raw.send("version\r\n");
      expect(await raw.readUntil((text) => text.endsWith("\r\n"))).toBe(`VERSION ${MEMCACHED_COMPATIBLE_VERSION}\r\n`);
      raw.send("stats\r\n");
      const stats = await raw.readUntil((text) => text.endsWith("END\r\n"));
      expect(stats).toMatch(/^STAT kvraft_version \d+\.\d+\.\d+\S*\r$/m);
      expect(stats).toContain(`STAT version ${MEMCACHED_COMPATIBLE_VERSION}\r\n`);
    } finally {
      raw.destroy();
    }
  });

  it("memcping exits 0", async () => {
    // Resolves only on exit 0; any other exit rejects with the tool's output.
    await tool("memcping", [`--servers=127.0.0.1:${port}`], "apt-get install libmemcached-tools");
  });

  it("memcstat prints the stats", async () => {
    const { stdout } = await tool("memcstat", [`--servers=127.0.0.1:${port}`], "apt-get install libmemcached-tools");
    expect(stdout).toContain(`version: ${MEMCACHED_COMPATIBLE_VERSION}`);
    expect(stdout).toMatch(/kvraft_version: \d+\.\d+\.\d+/);
    expect(stdout).toMatch(/cmd_get: \d+/);
  });

  it("meta-memcache (meta protocol only): get, set, cas, add, append, multi_get, touch, delta, delete", async () => {
    const { stdout } = await tool("python3", [META_CLIENT, "127.0.0.1", String(port)],
      "apt-get install python3 python3-pip, then python3 -m pip install --break-system-packages meta-memcache==4.3.0");
    expect(stdout.trim().split("\n").at(-1)).toBe("done");
  });
});
