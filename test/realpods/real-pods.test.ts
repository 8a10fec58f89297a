/**
 * KVRaft in real pods (docs/ARCHITECTURE.md, tier 5): the dev cluster's real nodes
 * (kubelet, containerd, runc, CNI, CoreDNS, kube-proxy, all built from Go modules) run the
 * project's image; the operator is installed by helm as a pod; day-2 scenarios run under a
 * client load through the client Service, each history judged by porcupine and
 * src/lincheck, with no acknowledged write lost. It needs root (network namespaces,
 * cgroups, mounts), as the fault tests do; CI runs as root.
 */
import { readdirSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DevCluster, type DevClusterBinaries, devClusterBinaries } from "../../src/devcluster/dev-cluster.js";
import { cachedRuntimeImage } from "../../src/devcluster/image-cache.js";
import { cgroupRootsWithPrefix } from "../../src/devcluster/node-cgroups.js";
import { NETWORK_PREFIX } from "../../src/devcluster/node-network.js";
import { KUBELET_SYSCTLS, readSysctls } from "../../src/devcluster/host-sysctls.js";
import { toolBinary } from "../../tools/go-tools.mjs";
import { CHART_DIR, REPO_ROOT } from "../chart/chart-render.js";
import { waitFor } from "../support/wait.js";
import {
  CLUSTER, HTTP_PORT, isReady, leaderId, longestWritePauseMs, NAMESPACE, onNode, serverPods, serviceIp, underLoad, waitRunning,
} from "./scenario-support.js";
import { nowMicros } from "../faults/workload.js";
import { execFileSync } from "node:child_process";

const IMAGE = "kvraft:0.1.0";
const OPERATOR_NS = "kvraft-system";
/** A pod's start on a loaded 2-core machine: image already loaded, volumes local. */
const READY_TIMEOUT_MS = 240_000;
const SEED = Number(process.env.KVRAFT_REALPODS_SEED ?? 1);

describe("KVRaft in real pods on the dev cluster", () => {
  let binaries: DevClusterBinaries | undefined;
  let helmBinary = "";
  let image = "";
  let cluster: DevCluster | undefined;
  const sysctlsBefore = readSysctls(KUBELET_SYSCTLS);
  const dev = (): DevCluster => {
    if (cluster === undefined) throw new Error("the dev cluster did not start");
    return cluster;
  };

  beforeAll(async () => {
    // Cold builds of the node stack take many minutes, once per machine (CI builds them in a tier of their own).
    [binaries, helmBinary] = await Promise.all([devClusterBinaries(), toolBinary("helm", "helm")]);
    image = (await cachedRuntimeImage({ repoRoot: REPO_ROOT, cacheDir: join(homedir(), ".cache", "kvraft-dev-cluster"), imageName: IMAGE })).file;
  }, 90 * 60_000);

  beforeAll(async () => {
    if (binaries === undefined) throw new Error("the node stack's binaries are not built");
    cluster = await DevCluster.start(binaries, { nodes: 3, images: [{ file: image, name: IMAGE }], log: (line) => process.stderr.write(`dev cluster: ${line}\n`) });
  }, 600_000);

  afterAll(async () => {
    if (cluster === undefined) return;
    const { tag } = cluster.network;
    const dir = cluster.dir;
    const problems = await cluster.stop();
    expect(problems).toEqual([]);
    // Nothing left behind: processes, namespaces, links, cgroups, kernel settings.
    const namespaces = execFileSync("ip", ["netns", "list"], { encoding: "utf8" });
    expect(namespaces).not.toContain(`${NETWORK_PREFIX}-${tag}`);
    expect(execFileSync("ip", ["-br", "link"], { encoding: "utf8" })).not.toContain(`${NETWORK_PREFIX}${tag}`);
    expect(cgroupRootsWithPrefix(`${NETWORK_PREFIX}${tag}`)).toEqual([]);
    expect(readSysctls(KUBELET_SYSCTLS)).toEqual(sysctlsBefore);
    const survivors = readdirSync("/proc").filter((p) => /^\d+$/.test(p)).filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, "utf8").includes(dir);
      } catch {
        return false;
      }
    });
    expect(survivors).toEqual([]);
  }, 180_000);

  const kubectl = (args: readonly string[], input?: string): Promise<string> => dev().controlPlane.kubectlOk(args, input === undefined ? {} : { input });
  const helm = (args: readonly string[]): string =>
    execFileSync(helmBinary, [...args, "--kubeconfig", dev().kubeconfig], { encoding: "utf8", timeout: 300_000 });

  it("1: helm install runs the operator as pods; examples/cluster.yaml reaches 3/3 Ready on three nodes; the CLI puts and gets through the Services", async () => {
    const started = Date.now();
    helm(["install", "kvraft-operator", CHART_DIR, "--namespace", OPERATOR_NS, "--create-namespace", "--wait", "--timeout", "5m"]);
    const operators = await dev().controlPlane.getJson<{ items: { status: { podIP?: string } }[] }>(["get", "pods", "-n", OPERATOR_NS, "-o", "json"]);
    expect(operators.items.length).toBe(2);
    await kubectl(["apply", "-f", join(REPO_ROOT, "examples", "cluster.yaml")]);
    await waitRunning(dev(), 3, READY_TIMEOUT_MS);
    const pods = await serverPods(dev());
    expect(new Set(pods.map((p) => p.spec.nodeName)).size).toBe(3);
    expect(pods.every((p) => p.status.podIP?.startsWith("10.244.") === true)).toBe(true);
    const nodes = await kubectl(["get", "nodes", "-o", "wide"]);
    expect(nodes).toMatch(/containerd:\/\/2\./);

    // The CLI as a user runs it on a machine of the cluster's network: the client Service's
    // HTTP port, and the coordinator Service by its cluster name (CoreDNS).
    const cli = join(REPO_ROOT, "dist", "cli.js");
    const client = `${await serviceIp(dev(), `${CLUSTER}-client`)}:${HTTP_PORT}`;
    expect(execFileSync(process.execPath, [cli, "put", "greeting", "hello from a pod", "--endpoints", client], { encoding: "utf8" })).toMatch(/OK|version/i);
    expect(execFileSync(process.execPath, [cli, "get", "greeting", "--endpoints", client], { encoding: "utf8" }).trim()).toBe("hello from a pod");
    const status = await onNode(dev(), process.execPath, [cli, "status", "--coord", `http://${CLUSTER}-coord.${NAMESPACE}.svc.cluster.local:7070`]);
    expect(status).toMatch(/leader/);
    process.stdout.write(`real pods, 1 (helm install, apply, 3/3 Ready): ${((Date.now() - started) / 1000).toFixed(1)} s; ${pods.map((p) => `${p.metadata.name} ${p.status.podIP} on ${p.spec.nodeName}`).join(", ")}\n`);
  }, 600_000);

  it("2: kubectl delete pod of the leader: writes pause briefly, the pod comes back with a new IP and its claim, and rejoins", async () => {
    const before = await serverPods(dev());
    const result = await underLoad(dev(), "2-delete-leader", SEED, async (_started, history) => {
      const client = `${await serviceIp(dev(), `${CLUSTER}-client`)}:${HTTP_PORT}`;
      const leader = await leaderId(client);
      const pod = `${CLUSTER}-${leader - 1}`;
      const oldIp = before.find((p) => p.metadata.name === pod)?.status.podIP;
      const deletedAt = nowMicros();
      await kubectl(["delete", "pod", pod, "-n", NAMESPACE, "--wait=false"]);
      const back = await waitFor(`${pod} back and Ready`, async () => {
        const now = (await serverPods(dev())).find((p) => p.metadata.name === pod);
        return now !== undefined && isReady(now) && now.status.podIP !== oldIp ? now : undefined;
      }, READY_TIMEOUT_MS, 1_000);
      await waitRunning(dev(), 3, READY_TIMEOUT_MS);
      const pause = longestWritePauseMs(history(), deletedAt);
      return `leader ${pod} deleted; write pause ${pause} ms; back as ${back.status.podIP} (was ${oldIp}) on ${back.spec.nodeName}`;
    });
    expect(result.verdict).toBe("linearizable");
    expect(result.lost).toEqual([]);
  }, 600_000);

  it("3: kubectl delete of every server pod at once: the cluster comes back from its claims with every acknowledged write", async () => {
    const result = await underLoad(dev(), "3-delete-all", SEED + 1, async () => {
      const startedAt = Date.now();
      await kubectl(["delete", "pod", "-n", NAMESPACE, "-l", `app.kubernetes.io/instance=${CLUSTER},app.kubernetes.io/component=server`, "--wait=false"]);
      await waitFor("the server pods to be replaced", async () => (await serverPods(dev())).every((p) => !isReady(p)) || undefined, 60_000, 250).catch(() => undefined);
      await waitRunning(dev(), 3, READY_TIMEOUT_MS);
      return `all 3 server pods deleted; Running with 3/3 again after ${((Date.now() - startedAt) / 1000).toFixed(1)} s`;
    });
    expect(result.verdict).toBe("linearizable");
    expect(result.lost).toEqual([]);
  }, 600_000);
});
