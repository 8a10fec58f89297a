import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keepsRigDir, KubeRig, pinnedKubernetesVersion, RIG_STORAGE_CLASS, rigBinaries } from "../../src/devcluster/control-plane.js";
import { waitFor } from "../support/wait.js";

// The rig itself under test: a real control plane on loopback that the operator's, the
// chart's and the controller's tests stand on. If this file fails, theirs cannot mean much.

const NAMESPACE = "rig-test";
const REPLICAS = 3;

interface PodJson {
  metadata: { name: string };
  spec: { nodeName?: string };
  status: { phase?: string; conditions?: { type: string; status: string }[] };
}
interface PvcJson { metadata: { name: string }; spec: { volumeName?: string }; status: { phase?: string } }
interface PvJson { metadata: { name: string }; spec: { claimRef?: { namespace: string; name: string } } }
interface List<T> { items: T[] }

function statefulSet(): object[] {
  return [
    { apiVersion: "v1", kind: "Service", metadata: { name: "web", namespace: NAMESPACE },
      spec: { clusterIP: "None", selector: { app: "web" }, ports: [{ name: "http", port: 80 }] } },
    {
      apiVersion: "apps/v1", kind: "StatefulSet", metadata: { name: "web", namespace: NAMESPACE },
      spec: {
        serviceName: "web", replicas: REPLICAS, podManagementPolicy: "Parallel",
        selector: { matchLabels: { app: "web" } },
        template: {
          metadata: { labels: { app: "web" } },
          spec: { containers: [{ name: "web", image: "registry.invalid/never-pulled:1", volumeMounts: [{ name: "data", mountPath: "/data" }] }] },
        },
        volumeClaimTemplates: [{ metadata: { name: "data" }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } } }],
      },
    },
  ];
}

function isReady(pod: PodJson): boolean {
  return pod.status.phase === "Running" && (pod.status.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");
}

describe("k8s test rig, failing to start", () => {
  it("fails at once with the log of the process that died, and leaves nothing behind", async () => {
    await rigBinaries();
    const tempRoot = mkdtempSync(join(tmpdir(), "kvraft-rig-failing-"));
    try {
      // "exited", not "timed out ... waiting for": the death is noticed at the next poll,
      // not at the start's deadline, and the message quotes the process's own log.
      await expect(KubeRig.start({ tempRoot, extraApiserverArgs: ["--no-such-flag-for-the-rig-test"] }))
        .rejects.toThrow(/^kube-apiserver exited \(exit code \d+\)[\s\S]*no-such-flag-for-the-rig-test/);
      expect(readdirSync(tempRoot)).toEqual([]); // the rig's directory is gone, and with it etcd's data
    } finally {
      rmSync(tempRoot, { recursive: true, force: true });
    }
  }, 90 * 60_000);
});

describe("k8s test rig", () => {
  let rig: KubeRig;

  beforeAll(async () => {
    await rigBinaries(); // a cold build of the control plane takes many minutes, once per machine
  }, 90 * 60_000);

  beforeAll(async () => {
    const started = Date.now();
    rig = await KubeRig.start();
    process.stderr.write(`k8s rig: started in ${((Date.now() - started) / 1000).toFixed(1)} s (${rig.server})\n`);
  }, 240_000);

  afterAll(async () => {
    await rig?.stop();
  }, 60_000);

  it("serves the pinned Kubernetes version, stamped into kubectl and the apiserver", async () => {
    const version = pinnedKubernetesVersion();
    const both = await rig.getJson<{ clientVersion: Record<string, string>; serverVersion: Record<string, string> }>(["version", "-o", "json"]);
    for (const side of [both.clientVersion, both.serverVersion]) {
      expect(side.gitVersion).toBe(version);
      expect(side.gitTreeState).toBe("clean");
      expect(`v${side.major}.${side.minor}.`).toBe(version.replace(/\d+$/, ""));
    }
    const raw = JSON.parse(await rig.kubectlOk(["get", "--raw", "/version"])) as { gitVersion: string };
    expect(raw.gitVersion).toBe(version);
  });

  it("runs a StatefulSet's pods Ready on kwok nodes with Bound claims, and the garbage collector cascades", async () => {
    await rig.kubectlOk(["create", "namespace", NAMESPACE]);
    await rig.apply(statefulSet());
    const nodes = new Set((await rig.getJson<List<{ metadata: { name: string } }>>(["get", "nodes", "-o", "json"])).items.map((n) => n.metadata.name));

    const pods = await waitFor("the StatefulSet's pods to be Running and Ready", async () => {
      const list = await rig.getJson<List<PodJson>>(["get", "pods", "-n", NAMESPACE, "-l", "app=web", "-o", "json"]);
      return list.items.length === REPLICAS && list.items.every(isReady) ? list.items : undefined;
    }, 120_000, 500);
    expect(pods.map((p) => p.metadata.name).sort()).toEqual(["web-0", "web-1", "web-2"]);
    for (const pod of pods) expect(nodes.has(pod.spec.nodeName ?? "")).toBe(true);

    const claims = await waitFor("the StatefulSet's claims to be Bound", async () => {
      const list = await rig.getJson<List<PvcJson>>(["get", "pvc", "-n", NAMESPACE, "-o", "json"]);
      return list.items.length === REPLICAS && list.items.every((c) => c.status.phase === "Bound") ? list.items : undefined;
    }, 60_000, 500);
    const volumes = await rig.getJson<List<PvJson>>(["get", "pv", "-o", "json"]);
    for (const claim of claims) {
      const volume = volumes.items.find((v) => v.metadata.name === claim.spec.volumeName);
      expect(volume?.spec.claimRef).toMatchObject({ namespace: NAMESPACE, name: claim.metadata.name });
    }
    const sts = await rig.getJson<{ status: { readyReplicas?: number } }>(["get", "statefulset", "web", "-n", NAMESPACE, "-o", "json"]);
    expect(sts.status.readyReplicas).toBe(REPLICAS);

    // Deleting the owner: the garbage collector removes its pods through their ownerReferences.
    await rig.kubectlOk(["delete", "statefulset", "web", "-n", NAMESPACE, "--cascade=background", "--wait=false"]);
    await waitFor("the garbage collector to delete the StatefulSet's pods", async () => {
      const list = await rig.getJson<List<PodJson>>(["get", "pods", "-n", NAMESPACE, "-o", "json"]);
      return list.items.length === 0 || undefined;
    }, 60_000, 500);
    // A StatefulSet's claims outlive it by default (persistentVolumeClaimRetentionPolicy Retain).
    expect((await rig.getJson<List<PvcJson>>(["get", "pvc", "-n", NAMESPACE, "-o", "json"])).items).toHaveLength(REPLICAS);

    // Deleting the namespace deletes the claims; their released volumes are reclaimed.
    await rig.kubectlOk(["delete", "namespace", NAMESPACE, "--wait=false"]);
    await waitFor("the namespace, its claims and their volumes to be gone", async () => {
      const gone = (await rig.kubectl(["get", "namespace", NAMESPACE])).code !== 0;
      const left = (await rig.getJson<List<PvJson>>(["get", "pv", "-o", "json"])).items.filter((v) => v.spec.claimRef?.namespace === NAMESPACE);
      return (gone && left.length === 0) || undefined;
    }, 120_000, 500);
  }, 300_000);

  it("cascades the deletion of any owner, foreground included", async () => {
    const owner = JSON.parse(await rig.kubectlOk(["create", "configmap", "owner", "-n", "default", "-o", "json"])) as { metadata: { uid: string } };
    await rig.apply({
      apiVersion: "v1", kind: "Secret", metadata: {
        name: "dependent", namespace: "default",
        ownerReferences: [{ apiVersion: "v1", kind: "ConfigMap", name: "owner", uid: owner.metadata.uid, blockOwnerDeletion: true }],
      }, stringData: { a: "b" },
    });
    await rig.kubectlOk(["delete", "configmap", "owner", "-n", "default", "--cascade=foreground", "--timeout=60s"]);
    expect((await rig.kubectl(["get", "secret", "dependent", "-n", "default"])).code).not.toBe(0);
  }, 120_000);

  it("enforces RBAC on a ServiceAccount's own token, and the admin may impersonate", async () => {
    await rig.kubectlOk(["create", "serviceaccount", "reader", "-n", "default"]);
    const asReader = await rig.serviceAccountKubeconfig("default", "reader");
    const denied = await rig.kubectl(["get", "pods", "-n", "default"], { kubeconfig: asReader });
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain("forbidden");
    const canI = await rig.kubectl(["auth", "can-i", "list", "pods", "-n", "default", "--as", "system:serviceaccount:default:reader"]);
    expect(canI.stdout.trim()).toBe("no");

    await rig.kubectlOk(["create", "role", "pod-reader", "-n", "default", "--verb=get,list", "--resource=pods"]);
    await rig.kubectlOk(["create", "rolebinding", "reader-reads", "-n", "default", "--role=pod-reader", "--serviceaccount=default:reader"]);
    // The authorizer reads RBAC from an informer: a grant takes effect shortly after it is written.
    await waitFor("the RoleBinding to take effect", async () =>
      (await rig.kubectl(["get", "pods", "-n", "default"], { kubeconfig: asReader })).code === 0 || undefined, 30_000, 200);
    expect((await rig.kubectl(["get", "secrets", "-n", "default"], { kubeconfig: asReader })).code).not.toBe(0);
  }, 120_000);

  it("default StorageClass is the rig's", async () => {
    const classes = await rig.getJson<List<{ metadata: { name: string; annotations?: Record<string, string> } }>>(["get", "storageclass", "-o", "json"]);
    const defaults = classes.items.filter((c) => c.metadata.annotations?.["storageclass.kubernetes.io/is-default-class"] === "true");
    expect(defaults.map((c) => c.metadata.name)).toEqual([RIG_STORAGE_CLASS]);
  });

  it("stops every process it started and deletes its directory", async () => {
    rig.assertHealthy();
    const pids = rig.runningPids();
    expect(pids).toHaveLength(5); // etcd, apiserver, controller manager, scheduler, kwok
    await rig.stop();
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
    expect(existsSync(rig.dir)).toBe(keepsRigDir());
    expect(rig.runningPids()).toEqual([]);
  }, 60_000);
});
