/**
 * KVRaft in real pods (docs/ARCHITECTURE.md, tier 5): the dev cluster's real nodes
 * (kubelet, containerd, runc, CNI, CoreDNS, kube-proxy, all built from Go modules) run the
 * project's image; the operator is installed by helm as a pod; day-2 scenarios run under a
 * client load through the client Service, each history judged by porcupine and
 * src/lincheck, with no acknowledged write lost. It needs root (network namespaces,
 * cgroups, mounts), as the fault tests do; CI runs as root.
 */
import { homedir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DevCluster, type DevClusterBinaries, devClusterBinaries } from "../../src/devcluster/dev-cluster.js";
import { cachedRuntimeImage } from "../../src/devcluster/image-cache.js";
import { KUBELET_SYSCTLS, readSysctls } from "../../src/devcluster/host-sysctls.js";
import { toolBinary } from "../../tools/go-tools.mjs";
import { CHART_DIR, REPO_ROOT } from "../chart/chart-render.js";
import { waitFor } from "../support/wait.js";
import { dashboardQueries, emptyQueries } from "../support/dashboard-queries.js";
import { Prometheus } from "../support/prometheus.js";
import { prometheusConfig } from "./prometheus.js";
import {
  CLUSTER, clientHttp, clusterCredentials, expectSafe, isReady, leaderId, longestWritePauseMs, NAMESPACE, onNode, serverPods, underLoad, waitRunning,
} from "./scenario-support.js";
import { nowMicros } from "../faults/workload.js";
import { execFileSync } from "node:child_process";
import { leftovers, NOTHING_LEFT } from "./leftovers.js";
import {
  applyBackupClaim, BACKUP, REFUSED, refuseCorruptBackup, removeBackups, removeClusters, RESTORED, restoreIntoNewCluster, takeBackupUnderWrites,
} from "./backup-scenarios.js";
import { SCHEDULE, scheduledBackupsPruned } from "./scheduled-backup-scenario.js";
import { backupWhileLeaderKilled, LEADER_KILLED_BACKUP, removeLargeState, writeLargeState } from "./leader-killed-backup-scenario.js";
import { recoverFromLostQuorum } from "./quorum-loss-scenario.js";

const IMAGE = "kvraft:0.1.0";
const OPERATOR_NS = "kvraft-system";
/** A pod's start on a loaded 2-core machine: image already loaded, volumes local. */
const READY_TIMEOUT_MS = 240_000;
const SEED = Number(process.env.KVRAFT_REALPODS_SEED ?? 1);

/** The panels' queries as Grafana would send them: every namespace, the example cluster, a one-minute rate window. */
const DASHBOARD_VARIABLES = { namespace: ".*", cluster: CLUSTER, __rate_interval: "1m" };

describe("KVRaft in real pods on the dev cluster", () => {
  let binaries: DevClusterBinaries | undefined;
  let helmBinary = "";
  let image = "";
  let cluster: DevCluster | undefined;
  /** Started by scenario 10; stopped before the dev cluster. */
  let prometheus: Prometheus | undefined;
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
    await prometheus?.stop();
    if (cluster === undefined) return;
    const { tag } = cluster.network;
    const dir = cluster.dir;
    const problems = await cluster.stop();
    expect(problems).toEqual([]);
    expect(leftovers(dir, tag, sysctlsBefore)).toEqual(NOTHING_LEFT);
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

    // The CLI as a user runs it on a machine of the cluster's network: the client Service
    // by its cluster name (CoreDNS; the name the members' certificates carry) over HTTPS
    // with the CA and token the operator made, and the coordinator Service likewise.
    const cli = join(REPO_ROOT, "dist", "cli.js");
    const credentials = await clusterCredentials(dev());
    const access = ["--cacert", credentials.caFile, "--token-file", credentials.tokenFile];
    const client = [`${CLUSTER}-client.${NAMESPACE}.svc.cluster.local:8080`];
    expect(await onNode(dev(), process.execPath, [cli, "put", "greeting", "hello from a pod", "--endpoints", ...client, ...access])).toMatch(/OK|version/i);
    expect((await onNode(dev(), process.execPath, [cli, "get", "greeting", "--endpoints", ...client, ...access])).trim()).toBe("hello from a pod");
    const plain = await onNode(dev(), process.execPath, [cli, "get", "greeting", "--endpoints", `http://${client[0] ?? ""}`]).catch((error: Error) => error.message);
    expect(plain).not.toContain("hello from a pod");
    // The coordinator is a Deployment of its own: the cluster can be Running before it is
    // Ready, and kube-proxy learns its endpoints a moment after that.
    await kubectl(["rollout", "status", `deployment/${CLUSTER}-coord`, "-n", NAMESPACE, "--timeout=180s"]);
    const status = await waitFor("kvraft status through the coordinator Service", async () =>
      onNode(dev(), process.execPath, [cli, "status", "--coord", `https://${CLUSTER}-coord.${NAMESPACE}.svc.cluster.local:7070`, ...access]), 60_000, 1_000);
    expect(status).toMatch(/leader/);
    process.stdout.write(`real pods, 1 (helm install, apply, 3/3 Ready): ${((Date.now() - started) / 1000).toFixed(1)} s; ${pods.map((p) => `${p.metadata.name} ${p.status.podIP} on ${p.spec.nodeName}`).join(", ")}\n`);
  }, 600_000);

  it("2: kubectl delete pod of the leader: writes pause briefly, the pod comes back with a new IP and its claim, and rejoins", async () => {
    const before = await serverPods(dev());
    const result = await underLoad(dev(), "2-delete-leader", SEED, async (_started, history) => {
      const client = await clientHttp(dev());
      const leader = await leaderId(client, await clusterCredentials(dev()));
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
    expectSafe(result);
  }, 600_000);

  it("3: kubectl delete of every server pod at once: the cluster comes back from its claims with every acknowledged write", async () => {
    const result = await underLoad(dev(), "3-delete-all", SEED + 1, async () => {
      const startedAt = Date.now();
      await kubectl(["delete", "pod", "-n", NAMESPACE, "-l", `app.kubernetes.io/instance=${CLUSTER},app.kubernetes.io/component=server`, "--wait=false"]);
      await waitFor("the server pods to be replaced", async () => (await serverPods(dev())).every((p) => !isReady(p)) || undefined, 60_000, 250).catch(() => undefined);
      await waitRunning(dev(), 3, READY_TIMEOUT_MS);
      return `all 3 server pods deleted; Running with 3/3 again after ${((Date.now() - startedAt) / 1000).toFixed(1)} s`;
    });
    expectSafe(result);
  }, 600_000);

  it("4: kubectl scale kvr to 5 and back to 3: learners catch up and are promoted, members are removed before the pods go", async () => {
    const result = await underLoad(dev(), "4-scale", SEED + 2, async () => {
      const startedAt = Date.now();
      await kubectl(["scale", "kvr", CLUSTER, "-n", NAMESPACE, "--replicas", "5"]);
      await waitRunning(dev(), 5, READY_TIMEOUT_MS);
      const grown = (Date.now() - startedAt) / 1000;
      await kubectl(["scale", "kvr", CLUSTER, "-n", NAMESPACE, "--replicas", "3"]);
      await waitRunning(dev(), 3, READY_TIMEOUT_MS);
      expect((await serverPods(dev())).map((p) => p.metadata.name)).toEqual([`${CLUSTER}-0`, `${CLUSTER}-1`, `${CLUSTER}-2`]);
      return `3 -> 5 voters in ${grown.toFixed(1)} s, back to 3 in ${((Date.now() - startedAt) / 1000 - grown).toFixed(1)} s`;
    });
    expectSafe(result);
  }, 900_000);

  it("5: a rolling update to a second image tag: one pod at a time, followers first, the leader last", async () => {
    const rolled = "kvraft:0.1.0-rolled";
    await dev().tagImage(IMAGE, rolled);
    const result = await underLoad(dev(), "5-rolling-update", SEED + 3, async () => {
      const startedAt = Date.now();
      const leaderPod = `${CLUSTER}-${(await leaderId(await clientHttp(dev()), await clusterCredentials(dev()))) - 1}`;
      await kubectl(["patch", "kvr", CLUSTER, "-n", NAMESPACE, "--type", "merge", "-p", JSON.stringify({ spec: { image: rolled } })]);
      let unreadyMax = 0;
      const pods = await waitFor("every server pod on the new image and Ready", async () => {
        const now = await serverPods(dev());
        unreadyMax = Math.max(unreadyMax, 3 - now.filter(isReady).length);
        return now.length === 3 && now.every((p) => isReady(p) && p.spec.containers?.[0]?.image === rolled) ? now : undefined;
      }, READY_TIMEOUT_MS, 250);
      await waitRunning(dev(), 3, READY_TIMEOUT_MS);
      const order = [...pods].sort((a, b) => (a.metadata.creationTimestamp ?? "").localeCompare(b.metadata.creationTimestamp ?? "")).map((p) => p.metadata.name);
      expect(unreadyMax).toBeLessThanOrEqual(1);
      expect(order.at(-1)).toBe(leaderPod);
      return `pods replaced in order ${order.join(", ")} (leader was ${leaderPod}); at most ${unreadyMax} unready at once; ${((Date.now() - startedAt) / 1000).toFixed(1)} s`;
    });
    expectSafe(result);
  }, 900_000);

  it("6: kubectl drain of a node: the PodDisruptionBudget holds a second drain off while one member is out", async () => {
    const result = await underLoad(dev(), "6-drain", SEED + 4, async () => {
      const pods = await serverPods(dev());
      const [first, second] = [pods[0], pods[1]];
      if (first?.spec.nodeName === undefined || second?.spec.nodeName === undefined) throw new Error("server pods without nodes");
      const drain = (node: string, timeout: string): Promise<{ code: number | null; stderr: string }> =>
        dev().controlPlane.kubectl(["drain", node, "--ignore-daemonsets", "--delete-emptydir-data", `--timeout=${timeout}`], { timeoutMs: 300_000 });
      const drained = await drain(first.spec.nodeName, "120s");
      expect(drained.code).toBe(0);
      // The evicted member's volume is on the cordoned node: it stays down until uncordon.
      const refused = await drain(second.spec.nodeName, "15s");
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toMatch(/disruption budget/i);
      expect(isReady((await serverPods(dev())).find((p) => p.metadata.name === second.metadata.name) ?? first)).toBe(true);
      await kubectl(["uncordon", first.spec.nodeName, second.spec.nodeName]);
      await waitRunning(dev(), 3, READY_TIMEOUT_MS);
      return `${first.spec.nodeName} drained (${first.metadata.name} evicted); a second drain of ${second.spec.nodeName} refused by the PodDisruptionBudget; both uncordoned, 3/3 again`;
    });
    expectSafe(result);
  }, 900_000);

  it("7: the operator killed after each step of a scale-out (its failpoints) is finished by the next operator", async () => {
    const operator = ["deployment/kvraft-operator", "-n", OPERATOR_NS];
    const failpoints = ["after-scale-stateful-set", "after-add-learner", "after-promote-learner"];
    await kubectl(["set", "env", ...operator, `KVRAFT_OPERATOR_FAILPOINT=${failpoints.join(",")}`]);
    await kubectl(["rollout", "status", ...operator, "--timeout=180s"]);
    const result = await underLoad(dev(), "7-operator-failpoints", SEED + 5, async () => {
      const startedAt = Date.now();
      await kubectl(["scale", "kvr", CLUSTER, "-n", NAMESPACE, "--replicas", "5"]);
      await waitRunning(dev(), 5, READY_TIMEOUT_MS);
      const operators = await dev().controlPlane.getJson<{ items: { status: { containerStatuses?: { restartCount: number; lastState?: { terminated?: { exitCode: number } } }[] } }[] }>(
        ["get", "pods", "-n", OPERATOR_NS, "-o", "json"]);
      const hits = operators.items.flatMap((p) => p.status.containerStatuses ?? []).filter((c) => c.lastState?.terminated?.exitCode === 86).length;
      const restarts = operators.items.flatMap((p) => p.status.containerStatuses ?? []).reduce((sum, c) => sum + c.restartCount, 0);
      expect(restarts).toBeGreaterThan(0);
      expect(hits).toBeGreaterThan(0);
      return `scale-out to 5 finished in ${((Date.now() - startedAt) / 1000).toFixed(1)} s across ${restarts} operator restarts (failpoints ${failpoints.join(", ")})`;
    });
    await kubectl(["set", "env", ...operator, "KVRAFT_OPERATOR_FAILPOINT-"]);
    await kubectl(["rollout", "status", ...operator, "--timeout=180s"]);
    await kubectl(["scale", "kvr", CLUSTER, "-n", NAMESPACE, "--replicas", "3"]);
    await waitRunning(dev(), 3, READY_TIMEOUT_MS);
    expectSafe(result);
  }, 900_000);

  it("8: a member's claim and pod deleted together (a lost disk): it comes back empty, non-voting, and is replaced", async () => {
    const result = await underLoad(dev(), "8-lost-disk", SEED + 6, async () => {
      const startedAt = Date.now();
      const leader = await leaderId(await clientHttp(dev()), await clusterCredentials(dev()));
      const ordinal = leader === 1 ? 1 : 0;
      const pod = `${CLUSTER}-${ordinal}`;
      const claim = `data-${pod}`;
      const oldClaimUid = (await kubectl(["get", "pvc", claim, "-n", NAMESPACE, "-o", "jsonpath={.metadata.uid}"])).trim();
      await kubectl(["delete", "pvc", claim, "-n", NAMESPACE, "--wait=false"]);
      await kubectl(["delete", "pod", pod, "-n", NAMESPACE, "--wait=false"]);
      await waitFor(`${claim} recreated`, async () => {
        const uid = (await dev().controlPlane.kubectl(["get", "pvc", claim, "-n", NAMESPACE, "-o", "jsonpath={.metadata.uid}"])).stdout.trim();
        return uid !== "" && uid !== oldClaimUid || undefined;
      }, READY_TIMEOUT_MS, 500);
      await waitRunning(dev(), 3, READY_TIMEOUT_MS);
      return `${pod} (follower) lost its disk; back on a new claim and a voter again after ${((Date.now() - startedAt) / 1000).toFixed(1)} s`;
    });
    expectSafe(result);
  }, 900_000);

  it("10: a real Prometheus discovers the pods through the apiserver; every query of the Grafana dashboard returns data", async () => {
    const credentials = await clusterCredentials(dev());
    const server = await Prometheus.start(await toolBinary("prometheus", "prometheus"), join(dev().dir, "prometheus"), prometheusConfig(dev().kubeconfig, {
      caFile: credentials.caFile, serverName: credentials.servername, coordinatorName: `${CLUSTER}-coord.${NAMESPACE}.svc`,
    }));
    prometheus = server;
    // The first KVRaftBackup is taken by scenario 11, after this one, so the age of the last
    // backup has nothing to show here; test/chart/dashboard-queries.test.ts records one and checks it.
    const queries = dashboardQueries(DASHBOARD_VARIABLES).filter((query) => query.panel !== "Since the last backup");
    const emptyNow = (): Promise<string[]> => emptyQueries(queries, (expr) => server.query(expr));
    let empty: string[] = [];
    // Under load, so the request panels have traffic to show.
    const result = await underLoad(dev(), "10-prometheus", SEED + 7, async () => {
      // Servers, the coordinator and both operator replicas are scraped.
      const targets = await waitFor("every pod to be scraped", async () => {
        const up = await server.upTargets();
        return up.filter((pod) => pod.startsWith(`${CLUSTER}-`)).length >= 4 && up.some((pod) => pod.startsWith("kvraft-operator-")) ? up : undefined;
      }, 120_000, 1_000);
      // Two scrapes of every target give rate() and increase() their two samples.
      empty = await waitFor("every dashboard query to return data", async () => ((await emptyNow()).length === 0 ? [] : undefined), 60_000, 2_000)
        .catch(() => emptyNow());
      return `${targets.length} targets up (${targets.join(", ")}); ${queries.length - empty.length}/${queries.length} dashboard queries return data`;
    });
    expect(empty).toEqual([]);
    expectSafe(result);
  }, 600_000);

  it("11: a KVRaftBackup taken under writes; a second cluster founded from it (spec.bootstrap.fromBackup) holds exactly the state at its revision and takes writes", async () => {
    try {
      let taken: Awaited<ReturnType<typeof takeBackupUnderWrites>> | undefined;
      const result = await underLoad(dev(), "11-backup", SEED + 8, async () => {
        taken = await takeBackupUnderWrites(dev(), kubectl, READY_TIMEOUT_MS);
        return taken.figures;
      });
      expectSafe(result);
      if (taken === undefined) throw new Error("the backup was not taken");
      process.stdout.write(`real pods, 11: ${await restoreIntoNewCluster(dev(), kubectl, taken.backup, taken.writer, READY_TIMEOUT_MS)}\n`);
    } finally {
      await removeClusters(dev(), kubectl, [RESTORED], 3);
    }
  }, 900_000);

  it("12: a cluster bootstrapped from a backup with one flipped byte is refused, saying where, and no member starts", async () => {
    try {
      process.stdout.write(`real pods, 12: ${await refuseCorruptBackup(dev(), kubectl, READY_TIMEOUT_MS)}\n`);
    } finally {
      await removeClusters(dev(), kubectl, [REFUSED], 1);
      await removeBackups(dev(), kubectl, [`kvraftbackup/${BACKUP}`]);
    }
  }, 600_000);

  it("13: a KVRaftScheduledBackup runs on its schedule, each backup a real Job, and prunes by its retention: objects and files", async () => {
    try {
      process.stdout.write(`real pods, 13: ${await scheduledBackupsPruned(dev(), kubectl, READY_TIMEOUT_MS)}\n`);
    } finally {
      await removeBackups(dev(), kubectl, [`kvraftscheduledbackup/${SCHEDULE}`]);
    }
  }, 600_000);

  it("14: a KVRaftBackup while the leader is killed mid-stream (SIGKILL, pod force-deleted) ends Completed with a sound file, or Failed saying why with no file", async () => {
    try {
      await applyBackupClaim(kubectl);
      const large = await writeLargeState(dev());
      const result = await underLoad(dev(), "14-backup-leader-killed", SEED + 9, async () =>
        `${large.figures}; ${await backupWhileLeaderKilled(dev(), kubectl, large, READY_TIMEOUT_MS)}`);
      expectSafe(result);
      await removeLargeState(dev());
    } finally {
      await removeBackups(dev(), kubectl, [`kvraftbackup/${LEADER_KILLED_BACKUP}`]);
    }
  }, 900_000);

  it("15: two of three members lost for good: QuorumLost and nothing else; kvraft.io/recover-from-member rebuilds from the survivor under a new cluster id with every write it held; an old member is refused", async () => {
    process.stdout.write(`real pods, 15: ${await recoverFromLostQuorum(dev(), kubectl, READY_TIMEOUT_MS)}\n`);
  }, 900_000);

  it("9: kubectl delete kvr: the owned objects go, the claims stay (pvcRetention Retain, the default)", async () => {
    const startedAt = Date.now();
    await kubectl(["delete", "kvr", CLUSTER, "-n", NAMESPACE]);
    const kinds = "statefulset,deployment,service,configmap,poddisruptionbudget,secret";
    const left = await waitFor("the owned objects to be collected", async () => {
      const names = (await kubectl(["get", kinds, "-n", NAMESPACE, "-l", `app.kubernetes.io/instance=${CLUSTER}`, "-o", "name"])).trim();
      const pods = await serverPods(dev());
      return names === "" && pods.length === 0 ? names : undefined;
    }, 180_000, 1_000);
    expect(left).toBe("");
    const claims = (await kubectl(["get", "pvc", "-n", NAMESPACE, "-o", "name"])).trim().split("\n");
    expect(claims).toEqual(expect.arrayContaining([`persistentvolumeclaim/data-${CLUSTER}-0`, `persistentvolumeclaim/data-${CLUSTER}-1`, `persistentvolumeclaim/data-${CLUSTER}-2`]));
    process.stdout.write(`real pods, 9 (delete kvr): owned objects gone in ${((Date.now() - startedAt) / 1000).toFixed(1)} s; claims kept: ${claims.length}\n`);
  }, 300_000);
});
