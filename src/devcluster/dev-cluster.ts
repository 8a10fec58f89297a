import { invariant } from "../assert/invariant.js";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { freeLoopbackPorts } from "../bench/cluster/ports.js";
import { POD_CIDR } from "./components.js";
import { keepsRigDir, KubeRig, type RigBinaries, rigBinaries } from "./control-plane.js";
import { toolBinary } from "./go-tools.js";
import { makeClientCertificate } from "./certs.js";
import { writeKubeconfig } from "./kubeconfig.js";
import { buildSingleBinaryImage } from "./image.js";
import { normalizedImageName } from "./oci-layout.js";
import { LocalVolumeProvisioner, storageClassManifest } from "./local-volumes.js";
import { killProcessesUnder, removeCgroupRoot } from "./node-cgroups.js";
import { corefile, nodePaths } from "./node-config.js";
import { NodeNetwork, sweepNetwork } from "./node-network.js";
import { probe } from "./probe.js";
import { RigProcess, untilWhileAlive } from "./process.js";
import { readSysctls, restoreSysctls, type SysctlValues } from "./host-sysctls.js";
import { type NodeBinaries, RealNode } from "./real-node.js";
import { killIfRunsFrom, processAlive } from "./shell.js";
import { waitFor } from "./wait.js";

/**
 * A local Kubernetes with real pods and no Docker: the control plane (etcd, apiserver,
 * controller manager, scheduler) and N real nodes, each a kubelet, containerd, runc and
 * kube-proxy in its own network and mount namespace, one CoreDNS, and local volumes. All
 * of it is built from Go modules (tools/go) and torn down without a trace by `stop`, or,
 * after a crash, by the sweeper of the next start (or `kvraft dev-cluster down`).
 */
export const DEV_CLUSTER_DIR_PREFIX = "kvraft-dev-cluster-";
const OWNER_FILE = "owner.json";
const DEFAULT_NODES = 3;
const DEFAULT_START_TIMEOUT_MS = 300_000;

export interface ImageToLoad {
  /** An OCI image layout tar (see image.ts), imported into every node. */
  readonly file: string;
  readonly name: string;
}

export interface DevClusterOptions {
  readonly nodes?: number;
  /** Progress lines (a cold start takes a minute or more). */
  readonly log?: (line: string) => void;
  readonly startTimeoutMs?: number;
  /** Images every node gets (the pause image is always loaded). */
  readonly images?: readonly ImageToLoad[];
  /** Where the cluster's folder is made (default: the OS temporary folder). */
  readonly tempRoot?: string;
}

/** What a sweeper needs to undo a dev cluster whose owner died. */
export interface OwnerRecord {
  readonly host: string;
  readonly pid: number;
  readonly tag: string;
  readonly sysctls: SysctlValues;
  readonly cgroupRoots: readonly string[];
}

const COREDNS_USER = "kvraft-dev-coredns";

/** Read access to what cluster DNS answers from, as the stock CoreDNS deployment's ClusterRole grants. */
function coreDnsRbac(): object[] {
  return [
    {
      apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", metadata: { name: COREDNS_USER },
      rules: [
        { apiGroups: [""], resources: ["endpoints", "services", "pods", "namespaces"], verbs: ["list", "watch"] },
        { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["list", "watch"] },
      ],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRoleBinding", metadata: { name: COREDNS_USER },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: COREDNS_USER },
      subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: COREDNS_USER }],
    },
  ];
}

/** Every Go-built binary the dev cluster runs; building them cold takes tens of minutes. */
export interface DevClusterBinaries {
  readonly controlPlane: RigBinaries;
  readonly node: NodeBinaries;
  readonly coredns: string;
  readonly pause: string;
}

/** The node stack's tools, beside the control plane's (tools/go/<name>). */
export const NODE_TOOLS = ["kube-node", "containerd", "runc", "cni-plugins", "coredns"] as const;

export async function devClusterBinaries(): Promise<DevClusterBinaries> {
  const [controlPlane, kubelet, kubeProxy, pause, containerd, ctr, runc, bridge, coredns] = await Promise.all([
    rigBinaries(), toolBinary("kube-node", "kubelet"), toolBinary("kube-node", "kube-proxy"), toolBinary("kube-node", "pause"),
    toolBinary("containerd", "containerd"), toolBinary("containerd", "ctr"), toolBinary("runc", "runc"),
    toolBinary("cni-plugins", "bridge"), toolBinary("coredns", "coredns"),
  ]);
  return { controlPlane, node: { kubelet, kubeProxy, containerd, ctr, runc, cniBinDir: dirname(bridge) }, coredns, pause };
}

export class DevCluster {
  private readonly extras: RigProcess[] = [];
  private provisioner: LocalVolumeProvisioner | undefined;
  private rig: KubeRig | undefined;
  private stopped: Promise<string[]> | undefined;
  readonly nodes: RealNode[] = [];

  private constructor(readonly dir: string, readonly network: NodeNetwork, private readonly sysctls: SysctlValues, private readonly log: (line: string) => void) {}

  /** The control plane; present once started. */
  get controlPlane(): KubeRig {
    invariant(this.rig !== undefined, () => "the dev cluster's control plane is started before it is used");
    return this.rig;
  }

  get kubeconfig(): string {
    return this.controlPlane.kubeconfig;
  }

  static async start(binaries: DevClusterBinaries, options: DevClusterOptions = {}): Promise<DevCluster> {
    const log = options.log ?? (() => undefined);
    const root = options.tempRoot ?? tmpdir();
    const swept = await sweepAbandonedDevClusters(root);
    if (swept > 0) log(`swept ${swept} dev cluster(s) left by a run that died`);
    const nodes = options.nodes ?? DEFAULT_NODES;
    const deadline = Date.now() + (options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS);
    const left = (): number => Math.max(1_000, deadline - Date.now());
    const dir = mkdtempSync(join(root, DEV_CLUSTER_DIR_PREFIX));
    const sysctls = readSysctls();
    let cluster: DevCluster | undefined;
    try {
      log(`network: a bridge and ${nodes} node namespaces`);
      const network = await NodeNetwork.create(nodes);
      cluster = new DevCluster(dir, network, sysctls, log);
      cluster.recordOwner();
      await cluster.boot(binaries, nodes, options.images ?? [], left);
      return cluster;
    } catch (error) {
      if (cluster !== undefined) {
        const problems = await cluster.stop();
        if (problems.length > 0) log(`clean-up after the failed start: ${problems.join("; ")}`);
      } else {
        rmSync(dir, { recursive: true, force: true });
      }
      throw error;
    }
  }

  private recordOwner(): void {
    const record: OwnerRecord = {
      host: hostname(), pid: process.pid, tag: this.network.tag, sysctls: this.sysctls,
      cgroupRoots: Array.from({ length: this.network.nodes }, (_, i) => this.cgroupRoot(i + 1)),
    };
    writeFileSync(join(this.dir, OWNER_FILE), JSON.stringify(record));
  }

  private cgroupRoot(node: number): string {
    return `${this.network.bridge.slice(0, -1)}-n${node}`;
  }

  private async boot(binaries: DevClusterBinaries, nodes: number, images: readonly ImageToLoad[], left: () => number): Promise<void> {
    this.log(`control plane: etcd, kube-apiserver on ${this.network.hostAddress}, controller manager, scheduler`);
    this.rig = await KubeRig.start({ nodes: 0, apiserverAddress: { kind: "bridge", address: this.network.hostAddress }, dir: join(this.dir, "control-plane"), startTimeoutMs: left() });
    await this.rig.apply(storageClassManifest());
    await this.startCoreDns(binaries.coredns, left());

    const pauseImage = { name: "localhost/kvraft-pause:1", file: join(this.dir, "pause.tar") };
    await buildSingleBinaryImage({ binary: binaries.pause, inImagePath: "/pause", imageName: pauseImage.name, outFile: pauseImage.file, entrypoint: ["/pause"] });
    for (let node = 1; node <= nodes; node++) {
      const name = `node-${node}`;
      const dir = join(this.dir, "nodes", name);
      mkdirSync(dir, { recursive: true });
      this.nodes.push(new RealNode({
        name, dir, address: this.network.nodeAddress(node), podRange: this.network.podRange(node), dnsAddress: this.network.hostAddress,
        cgroupRoot: this.cgroupRoot(node), pauseImage: pauseImage.name, runcBinary: binaries.node.runc, cniBinDir: binaries.node.cniBinDir,
      }, this.network.namespace(node), binaries.node));
    }
    this.log(`nodes: containerd on ${nodes} node(s), importing ${images.length + 1} image(s) into each`);
    await Promise.all(this.nodes.map(async (node) => {
      await node.startRuntime(this.controlPlane.pki, this.controlPlane.server, left());
      for (const image of [pauseImage, ...images]) await node.importImage(image.file);
    }));
    this.log("nodes: kubelet and kube-proxy");
    await Promise.all(this.nodes.map((node) => node.startKubelet(POD_CIDR, left())));
    await waitFor(`${nodes} node(s) Ready`, async () => {
      const list = await this.controlPlane.getJson<{ items: { status?: { conditions?: { type: string; status: string }[] } }[] }>(["get", "nodes", "-o", "json"]);
      return list.items.filter((n) => n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True")).length === nodes || undefined;
    }, left(), 500, () => this.assertHealthy());
    this.provisioner = new LocalVolumeProvisioner(this.kubeconfig, new Map(this.nodes.map((n) => [n.layout.name, nodePaths(n.layout.dir).volumes])));
    this.provisioner.start();
    await waitFor("the default ServiceAccount", async () =>
      (await this.controlPlane.kubectl(["get", "serviceaccount", "default", "-n", "default", "-o", "name"])).code === 0 || undefined, left(), 500);
    this.log(`ready: KUBECONFIG=${this.kubeconfig}`);
  }

  private async startCoreDns(binary: string, timeoutMs: number): Promise<void> {
    const [health, ready] = await freeLoopbackPorts(2) as [number, number];
    const kubeconfig = join(this.dir, "coredns.kubeconfig");
    const pki = this.controlPlane.pki;
    // CoreDNS reads what names are made of, and nothing else (its own ClusterRole).
    await this.controlPlane.apply(coreDnsRbac());
    const identity = await makeClientCertificate(pki, "coredns", `/CN=${COREDNS_USER}`);
    await writeKubeconfig(kubeconfig, this.controlPlane.server, pki.caCert, COREDNS_USER, { kind: "certificate", certFile: identity.cert, keyFile: identity.key });
    const conf = join(this.dir, "Corefile");
    writeFileSync(conf, corefile(this.network.hostAddress, kubeconfig, health, ready));
    const coredns = new RigProcess("coredns", binary, ["-conf", conf], join(this.dir, "coredns.log"));
    this.extras.push(coredns);
    await untilWhileAlive("CoreDNS to be ready", [coredns], coredns, () => probe(`http://127.0.0.1:${ready}/ready`), timeoutMs);
  }

  /** Tags an image already loaded on every node with another name (e.g. a second version for a rolling update). */
  async tagImage(source: string, target: string): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.tagImage(normalizedImageName(source), normalizedImageName(target))));
  }

  /** Throws, quoting the log, if any process of the cluster died on its own. */
  assertHealthy(): void {
    this.rig?.assertHealthy();
    for (const proc of this.extras) proc.assertAlive();
    for (const node of this.nodes) node.assertHealthy();
  }

  logTails(lines = 20): string {
    return [this.rig?.logTails(lines) ?? "", ...this.extras.map((p) => `--- ${p.name}\n${p.tail(lines)}`), ...this.nodes.map((n) => n.logTails(lines))].join("\n");
  }

  /** Stops everything and undoes every change to the machine; returns what could not be undone. Safe to call twice. */
  stop(): Promise<string[]> {
    this.stopped ??= this.shutdown();
    return this.stopped;
  }

  private async shutdown(): Promise<string[]> {
    const problems: string[] = [];
    await this.provisioner?.stop();
    await Promise.all(this.nodes.map((node) => node.stop(problems)));
    restoreSysctls(this.sysctls, problems);
    await Promise.all(this.extras.map((p) => p.stop(5_000)));
    await this.rig?.stop();
    problems.push(...await this.network.destroy());
    if (!keepsRigDir()) rmSync(this.dir, { recursive: true, force: true });
    return problems;
  }
}

/**
 * Undoes the dev clusters whose owning process is gone (killed outright, a crashed test):
 * their processes, containers, cgroups, network, and the kernel settings the kubelets
 * changed. Returns how many were swept.
 */
export async function sweepAbandonedDevClusters(root = tmpdir()): Promise<number> {
  let swept = 0;
  for (const entry of readdirSync(root)) {
    if (!entry.startsWith(DEV_CLUSTER_DIR_PREFIX)) continue;
    const dir = join(root, entry);
    const ownerFile = join(dir, OWNER_FILE);
    if (!existsSync(ownerFile)) continue;
    const record = readOwner(ownerFile);
    // Half-written (a start that is under way), another machine's, or alive: not ours to sweep.
    if (record === undefined || record.host !== hostname() || processAlive(record.pid)) continue;
    await sweep(dir, record);
    swept++;
  }
  return swept;
}

/** A dev cluster's owner record, or undefined if it cannot be read as one. */
export function readOwner(file: string): OwnerRecord | undefined {
  try {
    const record = JSON.parse(readFileSync(file, "utf8")) as Partial<OwnerRecord>;
    return typeof record.pid === "number" && typeof record.tag === "string" && typeof record.host === "string" ? record as OwnerRecord : undefined;
  } catch {
    return undefined;
  }
}

async function sweep(dir: string, record: OwnerRecord): Promise<void> {
  const problems: string[] = [];
  for (const pid of readdirSync("/proc").filter((name) => /^\d+$/.test(name)).map(Number)) {
    if (pid !== process.pid) killIfRunsFrom(pid, dir);
  }
  for (const cgroup of record.cgroupRoots) killProcessesUnder(cgroup);
  problems.push(...await sweepNetwork(record.tag));
  await waitFor("swept containers to exit", () => record.cgroupRoots.every((c) => killProcessesUnder(c) === 0) || undefined, 10_000, 100).catch(() => undefined);
  for (const cgroup of record.cgroupRoots) removeCgroupRoot(cgroup, problems);
  restoreSysctls(record.sysctls, problems);
  rmSync(dir, { recursive: true, force: true });
  if (problems.length > 0) process.stderr.write(`dev cluster sweep of ${dir}: ${problems.join("; ")}\n`);
}
