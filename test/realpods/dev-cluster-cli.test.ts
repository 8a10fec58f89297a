/**
 * `kvraft dev-cluster` as a user runs it: the real binary brings up a real node, kubectl
 * sees it on containerd; then the `up` process is killed outright (no clean-up of its own)
 * and `kvraft dev-cluster down` sweeps everything it left. Root, as the command says.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { devClusterBinaries } from "../../src/devcluster/dev-cluster.js";
import { KUBELET_SYSCTLS, readSysctls } from "../../src/devcluster/host-sysctls.js";
import { toolBinary } from "../../tools/go-tools.mjs";
import { REPO_ROOT } from "../chart/chart-render.js";
import { waitFor } from "../support/wait.js";
import { leftovers, NOTHING_LEFT } from "./leftovers.js";

const CLI = join(REPO_ROOT, "dist", "cli.js");

describe("kvraft dev-cluster up and down", () => {
  let up: ChildProcess | undefined;
  let output = "";
  const sysctlsBefore = readSysctls(KUBELET_SYSCTLS);

  beforeAll(async () => {
    await devClusterBinaries();
  }, 90 * 60_000);

  afterAll(() => {
    if (up?.exitCode === null) up.kill("SIGKILL");
    execFileSync(process.execPath, [CLI, "dev-cluster", "down"], { encoding: "utf8", timeout: 180_000 });
  }, 200_000);

  it("up prints the KUBECONFIG and the next commands; a killed up leaves nothing once down has swept", async () => {
    up = spawn(process.execPath, [CLI, "dev-cluster", "up", "--nodes", "1"], { stdio: ["ignore", "pipe", "pipe"] });
    up.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    up.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    const kubeconfig = await waitFor("dev-cluster up to print its KUBECONFIG", () => {
      if (up?.exitCode !== null) throw new Error(`dev-cluster up exited with ${up?.exitCode}:\n${output}`);
      return /export KUBECONFIG=(\S+)/.exec(output)?.[1];
    }, 300_000, 250, () => {
      if (up?.exitCode !== null && up?.exitCode !== undefined) throw new Error(`dev-cluster up exited with ${up.exitCode}:\n${output}`);
    });
    expect(output).toMatch(/helm install kvraft-operator charts\/kvraft-operator/);
    expect(output).toMatch(/kubectl apply -f examples\/cluster\.yaml/);
    const kubectl = await toolBinary("kube", "kubectl");
    const nodes = execFileSync(kubectl, ["--kubeconfig", kubeconfig, "get", "nodes", "-o", "wide"], { encoding: "utf8" });
    expect(nodes).toMatch(/node-1\s+Ready/);
    expect(nodes).toMatch(/containerd:\/\/2\./);

    const dir = /in (\/\S+kvraft-dev-cluster-\S+)/.exec(output)?.[1] ?? "";
    const tag = /kvdc(\w+)b/.exec(execFileSync("ip", ["-br", "link"], { encoding: "utf8" }))?.[1] ?? "";
    expect(dir).not.toBe("");
    expect(tag).not.toBe("");
    up.kill("SIGKILL");
    await waitFor("the killed up to exit", () => up?.exitCode !== null || up?.signalCode !== null || undefined, 10_000, 50);
    // A run killed outright: kubelets, containerd, pods, network and changed kernel settings are still there.
    expect(leftovers(dir, tag, sysctlsBefore).namespaces.length).toBe(1);
    const down = spawnSync(process.execPath, [CLI, "dev-cluster", "down"], { encoding: "utf8", timeout: 180_000 });
    expect(down.status).toBe(0);
    expect(down.stderr).toMatch(/swept 1 dev cluster/);
    expect(leftovers(dir, tag, sysctlsBefore)).toEqual(NOTHING_LEFT);
  }, 600_000);
});
