import { invariant } from "../assert/invariant.js";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { makeClientCertificate, type RigPki } from "./certs.js";
import { writeKubeconfig } from "./kubeconfig.js";
import { createCgroupRoot, killProcessesUnder, removeCgroupRoot } from "./node-cgroups.js";
import {
  closedRegistryHosts, cniConfig, KUBELET_HEALTHZ_PORT, containerdConfig, kubeletConfig, kubeProxyConfig, type NodeLayout, nodePaths, resolvConf,
} from "./node-config.js";
import { probe } from "./probe.js";
import { RigProcess, untilWhileAlive } from "./process.js";
import { run } from "./shell.js";
import { waitFor } from "./wait.js";

/** The Go-built binaries a node runs. */
export interface NodeBinaries {
  readonly kubelet: string;
  readonly kubeProxy: string;
  readonly containerd: string;
  readonly ctr: string;
  readonly runc: string;
  /** The folder with bridge, host-local, loopback and portmap. */
  readonly cniBinDir: string;
}

const STOP_GRACE_MS = 10_000;
/** Folders of the machine a node's own copy hides (kubelet and containerd write there whatever their flags say). */
const PRIVATE_FOLDERS = ["/var/lib", "/var/log", "/run"] as const;

/**
 * One real Kubernetes node: containerd and a kubelet (and kube-proxy) in the node's network
 * namespace and in a mount namespace of its own, where /var/lib, /var/log and /run are the
 * node's own folders. The kubelet and containerd write to fixed paths there (device-plugin
 * sockets, /var/log/containers, shim sockets, CNI's cache); three nodes on one machine
 * would otherwise share and fight over them, and the machine would keep them. The mount
 * namespace is held by a small holder process: when it and the node's processes end, every
 * mount the node made (the kubelet's bind of its root, volumes, overlays) goes with it.
 */
export class RealNode {
  private readonly processes: RigProcess[] = [];
  private holder: RigProcess | undefined;

  constructor(readonly layout: NodeLayout, readonly namespace: string, private readonly binaries: NodeBinaries) {}

  get containerdSocket(): string {
    return nodePaths(this.layout.dir).containerdSocket;
  }

  /** Pids to record for a sweeper (the holder's namespaces hold everything else). */
  pids(): number[] {
    return [this.holder, ...this.processes].flatMap((p) => (p?.pid === undefined ? [] : [p.pid]));
  }

  /** Writes the node's files and starts the holder and containerd; images can be imported after. */
  async startRuntime(pki: RigPki, apiserver: string, timeoutMs: number): Promise<void> {
    const paths = nodePaths(this.layout.dir);
    for (const dir of [paths.cniConfDir, join(paths.registryDir, "_default"), paths.volumes, paths.logs, paths.kubeletRoot,
      ...PRIVATE_FOLDERS.map((f) => this.privateCopy(f))]) mkdirSync(dir, { recursive: true });
    writeFileSync(paths.containerdConfig, containerdConfig(this.layout));
    writeFileSync(join(paths.registryDir, "_default", "hosts.toml"), closedRegistryHosts());
    writeFileSync(join(paths.cniConfDir, "10-pods.conflist"), cniConfig(this.layout));
    writeFileSync(paths.resolvConf, resolvConf(this.layout));
    writeFileSync(paths.kubeletConfig, kubeletConfig(this.layout, pki.caCert));
    const kubelet = await makeClientCertificate(pki, `kubelet-${this.layout.name}`, `/O=system:nodes/CN=system:node:${this.layout.name}`);
    await writeKubeconfig(paths.kubeletKubeconfig, apiserver, pki.caCert, `system:node:${this.layout.name}`, { kind: "certificate", certFile: kubelet.cert, keyFile: kubelet.key });
    const proxy = await makeClientCertificate(pki, `kube-proxy-${this.layout.name}`, "/CN=system:kube-proxy");
    await writeKubeconfig(paths.proxyKubeconfig, apiserver, pki.caCert, "system:kube-proxy", { kind: "certificate", certFile: proxy.cert, keyFile: proxy.key });
    createCgroupRoot(this.layout.cgroupRoot);

    await this.startHolder(timeoutMs);
    const containerd = this.spawnInNode("containerd", this.binaries.containerd, ["--config", paths.containerdConfig]);
    await this.until("containerd to answer", containerd, async () => {
      const out = await run(this.binaries.ctr, ["--address", this.containerdSocket, "version"]).catch(() => undefined);
      return out?.includes("Server:") || undefined;
    }, timeoutMs);
  }

  /** Imports an OCI image tar into containerd's k8s.io namespace, where the kubelet finds it. */
  async importImage(file: string): Promise<void> {
    await run(this.binaries.ctr, ["--address", this.containerdSocket, "-n", "k8s.io", "images", "import", file], { timeoutMs: 300_000 });
  }

  /** Gives an imported image a second name (a new tag, as a registry push of the same image would). */
  async tagImage(source: string, target: string): Promise<void> {
    await run(this.binaries.ctr, ["--address", this.containerdSocket, "-n", "k8s.io", "images", "tag", "--force", source, target]);
  }

  /** Starts the kubelet and kube-proxy; resolves when the kubelet answers /healthz. */
  async startKubelet(clusterCidr: string, timeoutMs: number): Promise<void> {
    const paths = nodePaths(this.layout.dir);
    writeFileSync(paths.proxyConfig, kubeProxyConfig(this.layout, clusterCidr));
    const kubelet = this.spawnInNode("kubelet", this.binaries.kubelet, [
      "--config", paths.kubeletConfig, "--kubeconfig", paths.kubeletKubeconfig, "--root-dir", paths.kubeletRoot,
      "--cert-dir", join(paths.kubeletRoot, "pki"), "--hostname-override", this.layout.name, "--node-ip", this.layout.address,
      "--node-labels", `topology.kubernetes.io/zone=zone-${this.layout.name}`, "--v=1",
    ]);
    this.spawnInNode("kube-proxy", this.binaries.kubeProxy, ["--config", paths.proxyConfig, "--v=1"]);
    await this.until("the kubelet to answer /healthz", kubelet,
      () => probe(`http://${this.layout.address}:${KUBELET_HEALTHZ_PORT}/healthz`), timeoutMs);
  }

  /** A node's own copy of a machine folder. */
  private privateCopy(folder: string): string {
    return join(this.layout.dir, "private", folder.replaceAll("/", "_"));
  }

  private async startHolder(timeoutMs: number): Promise<void> {
    const ready = join(this.layout.dir, "holder.ready");
    const binds = PRIVATE_FOLDERS.map((f) => `mount --bind '${this.privateCopy(f)}' '${f}'`).join(" && ");
    // slave: the machine's mounts are seen here, but nothing mounted here reaches the machine.
    // nsenter, not `ip netns exec`: that remounts /sys for the namespace, which hides the
    // cgroup hierarchies mounted under /sys/fs/cgroup that the kubelet and runc need.
    this.holder = this.track(new RigProcess("holder", "nsenter", [`--net=/run/netns/${this.namespace}`, "--", "unshare", "--mount", "--propagation", "slave",
      "sh", "-c", `${binds} && touch '${ready}' && exec sleep infinity`], join(nodePaths(this.layout.dir).logs, "holder.log")));
    const holder = this.holder;
    await this.until("the node's namespace holder", holder, () => existsSync(ready) || undefined, timeoutMs);
  }

  /** Runs a binary inside the holder's mount and network namespaces (nsenter execs it: same pid). */
  private spawnInNode(name: string, binary: string, args: readonly string[]): RigProcess {
    const holderPid = this.holder?.pid;
    invariant(holderPid !== undefined, () => `${this.layout.name}'s namespace holder runs before anything is spawned in the node`);
    const path = [dirname(this.binaries.containerd), process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin"].join(":");
    return this.track(new RigProcess(name, "nsenter", ["-t", String(holderPid), "-m", "-n", "--", binary, ...args],
      join(nodePaths(this.layout.dir).logs, `${name}.log`), { ...process.env, PATH: path }));
  }

  private track(proc: RigProcess): RigProcess {
    this.processes.push(proc);
    return proc;
  }

  private until<T>(what: string, blame: RigProcess, check: () => Promise<T | undefined> | T | undefined, timeoutMs: number): Promise<T> {
    return untilWhileAlive(`${this.layout.name}: ${what}`, this.processes, blame, check, timeoutMs);
  }

  /** Throws, quoting its log, if a process of the node died on its own. */
  assertHealthy(): void {
    for (const proc of this.processes) proc.assertAlive();
  }

  logTails(lines = 20): string {
    return this.processes.map((p) => `--- ${this.layout.name}/${p.name} (${p.logFile})\n${p.tail(lines)}`).join("\n");
  }

  /**
   * Stops the node: kube-proxy and the kubelet, then every container (SIGKILL through the
   * node's cgroup: the kubelet is gone, nothing would stop them gracefully), containerd,
   * the holder; then removes the node's cgroups. Reports what failed.
   */
  async stop(problems: string[]): Promise<void> {
    const byName = (name: string): RigProcess[] => this.processes.filter((p) => p.name === name);
    for (const name of ["kube-proxy", "kubelet"]) await Promise.all(byName(name).map((p) => p.stop(STOP_GRACE_MS)));
    killProcessesUnder(this.layout.cgroupRoot);
    await Promise.all(byName("containerd").map((p) => p.stop(STOP_GRACE_MS)));
    // Shims outlive containerd by design; they run in the node's network namespace, which
    // the network's teardown empties. The holder goes last, taking the mounts with it.
    await Promise.all(byName("holder").map((p) => p.stop(STOP_GRACE_MS)));
    await waitFor(`${this.layout.name}'s containers to exit`, () => killProcessesUnder(this.layout.cgroupRoot) === 0 || undefined, 10_000, 100)
      .catch((error: Error) => problems.push(error.message));
    removeCgroupRoot(this.layout.cgroupRoot, problems);
  }
}
