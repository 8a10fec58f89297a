import { join } from "node:path";
import { stringify } from "yaml";

/**
 * The configuration files of one real node (containerd, the kubelet, kube-proxy, CNI) and
 * of the cluster's CoreDNS, as text. Settings a probe on this kind of machine found
 * necessary are explained where they are set (docs/ARCHITECTURE.md, tier 5).
 */

/** What a node's files are made from. */
export interface NodeLayout {
  /** kubelet's node name. */
  readonly name: string;
  /** The node's own folder: containerd's root and state, kubelet's root, logs, volumes. */
  readonly dir: string;
  readonly address: string;
  /** This node's pods' range, e.g. 10.244.1.0/24. */
  readonly podRange: string;
  /** Where pods find cluster DNS (CoreDNS on the bridge's host address). */
  readonly dnsAddress: string;
  /** The cgroup (in every hierarchy) that holds this node's pods, so nodes never touch each other's. */
  readonly cgroupRoot: string;
  /** The sandbox image every pod starts with; imported, never pulled. */
  readonly pauseImage: string;
  /** Folders of the Go-built binaries: runc, CNI plugins. */
  readonly runcBinary: string;
  readonly cniBinDir: string;
}

export const CLUSTER_DOMAIN = "cluster.local";
export const KUBELET_HEALTHZ_PORT = 10248;

export function nodePaths(dir: string): {
  containerdSocket: string; containerdConfig: string; kubeletConfig: string; kubeletRoot: string; kubeletKubeconfig: string;
  proxyConfig: string; proxyKubeconfig: string; cniConfDir: string; registryDir: string; resolvConf: string; volumes: string; logs: string;
} {
  return {
    containerdSocket: join(dir, "containerd.sock"),
    containerdConfig: join(dir, "containerd.toml"),
    kubeletConfig: join(dir, "kubelet.yaml"),
    kubeletRoot: join(dir, "kubelet"),
    kubeletKubeconfig: join(dir, "kubelet.kubeconfig"),
    proxyConfig: join(dir, "kube-proxy.yaml"),
    proxyKubeconfig: join(dir, "kube-proxy.kubeconfig"),
    cniConfDir: join(dir, "cni", "net.d"),
    registryDir: join(dir, "registries"),
    resolvConf: join(dir, "resolv.conf"),
    volumes: join(dir, "volumes"),
    logs: join(dir, "logs"),
  };
}

const quote = (text: string): string => JSON.stringify(text);

/** containerd 2.x (config version 3). */
export function containerdConfig(node: NodeLayout): string {
  const paths = nodePaths(node.dir);
  return `version = 3
root = ${quote(join(node.dir, "containerd", "root"))}
state = ${quote(join(node.dir, "containerd", "state"))}

[grpc]
  address = ${quote(paths.containerdSocket)}
[ttrpc]
  address = ${quote(`${paths.containerdSocket}.ttrpc`)}

[plugins."io.containerd.cri.v1.images"]
  snapshotter = "overlayfs"
  # Every registry is a closed port (registries/_default/hosts.toml): a pull can never
  # leave the machine; images are imported.
  [plugins."io.containerd.cri.v1.images".pinned_images]
    sandbox = ${quote(node.pauseImage)}
  [plugins."io.containerd.cri.v1.images".registry]
    config_path = ${quote(paths.registryDir)}

[plugins."io.containerd.cri.v1.runtime"]
  # root here lacks CAP_SYS_RESOURCE: lowering a process's OOM score is refused, and
  # without this every sandbox fails to start (Guaranteed pods then get score 0).
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  enable_cdi = false
  [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
    [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
      BinaryName = ${quote(node.runcBinary)}
      Root = ${quote(join(node.dir, "runc"))}
      SystemdCgroup = false
  [plugins."io.containerd.cri.v1.runtime".cni]
    bin_dirs = [${quote(node.cniBinDir)}]
    conf_dir = ${quote(paths.cniConfDir)}

[plugins."io.containerd.grpc.v1.cri"]
  disable_tcp_service = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"

[plugins."io.containerd.nri.v1.nri"]
  disable = true

[plugins."io.containerd.internal.v1.opt"]
  path = ${quote(join(node.dir, "containerd", "opt"))}
`;
}

/** Every registry is served by a closed port on the node's loopback: pulls fail at once, locally. */
export function closedRegistryHosts(): string {
  return `server = "http://127.0.0.1:1"\n[host."http://127.0.0.1:1"]\n  capabilities = ["pull", "resolve"]\n`;
}

/** The node's pod network: its own bridge, addresses from its /24, no masquerading (nothing goes out). */
export function cniConfig(node: NodeLayout): string {
  return JSON.stringify({
    cniVersion: "1.0.0",
    name: `${node.name}-pods`,
    plugins: [
      {
        type: "bridge", bridge: "cni0", isGateway: true, ipMasq: false, hairpinMode: true,
        ipam: { type: "host-local", ranges: [[{ subnet: node.podRange }]], routes: [{ dst: "0.0.0.0/0" }], dataDir: join(node.dir, "cni", "ipam") },
      },
      { type: "portmap", capabilities: { portMappings: true } },
    ],
  }, null, 2);
}

/** What pods with dnsPolicy Default (and the kubelet's search list) see: cluster DNS only, never the machine's resolver. */
export function resolvConf(node: NodeLayout): string {
  return `nameserver ${node.dnsAddress}\n`;
}

export function kubeletConfig(node: NodeLayout, caFile: string): string {
  const paths = nodePaths(node.dir);
  return stringify({
    apiVersion: "kubelet.config.k8s.io/v1beta1",
    kind: "KubeletConfiguration",
    // cgroup v1 (hybrid) here: deprecated, so the kubelet must be told to accept it.
    failCgroupV1: false,
    cgroupDriver: "cgroupfs",
    cgroupsPerQOS: true,
    cgroupRoot: node.cgroupRoot,
    containerRuntimeEndpoint: `unix://${paths.containerdSocket}`,
    imageServiceEndpoint: `unix://${paths.containerdSocket}`,
    address: node.address,
    port: 10250,
    readOnlyPort: 0,
    // On the node's own address (the private bridge), so the dev cluster can probe it.
    healthzBindAddress: node.address,
    healthzPort: KUBELET_HEALTHZ_PORT,
    podLogsDir: paths.logs,
    volumePluginDir: join(node.dir, "volume-plugins"),
    clusterDNS: [node.dnsAddress],
    clusterDomain: CLUSTER_DOMAIN,
    resolvConf: paths.resolvConf,
    // Only the rig's CA signs clients the kubelet accepts (the apiserver, for logs, exec and port-forward).
    authentication: { anonymous: { enabled: false }, webhook: { enabled: false }, x509: { clientCAFile: caFile } },
    authorization: { mode: "AlwaysAllow" },
    // Local volumes need no attach; the controller for it is not run.
    enableControllerAttachDetach: false,
    // Three nodes share two cores and one disk: evict only when truly out of room.
    evictionHard: { "memory.available": "50Mi", "nodefs.available": "1%", "imagefs.available": "1%", "nodefs.inodesFree": "1%" },
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    serializeImagePulls: false,
    failSwapOn: false,
    // The kubelet rewrites kernel.panic and friends; the dev cluster restores them at the end.
    protectKernelDefaults: false,
    nodeStatusUpdateFrequency: "10s",
    syncFrequency: "10s",
    fileCheckFrequency: "20s",
    maxPods: 60,
    shutdownGracePeriod: "0s",
  });
}

export function kubeProxyConfig(node: NodeLayout, clusterCidr: string): string {
  const paths = nodePaths(node.dir);
  return stringify({
    apiVersion: "kubeproxy.config.k8s.io/v1alpha1",
    kind: "KubeProxyConfiguration",
    mode: "iptables",
    clientConnection: { kubeconfig: paths.proxyKubeconfig },
    hostnameOverride: node.name,
    bindAddress: node.address,
    clusterCIDR: clusterCidr,
    healthzBindAddress: "127.0.0.1:10256",
    metricsBindAddress: "127.0.0.1:10249",
    nodePortAddresses: [`${node.address}/32`],
    // Every Service connection is masqueraded: replies always come back through the node
    // that translated them (the root namespace reaches Services through node 1).
    iptables: { masqueradeAll: true },
    // conntrack's table size is the machine's, not this namespace's: leave it alone.
    conntrack: { maxPerCore: 0, tcpEstablishedTimeout: "0s", tcpCloseWaitTimeout: "0s" },
  });
}

/** Cluster DNS only: names outside the cluster's zones are refused, never forwarded off the machine. */
export function corefile(listenAddress: string, kubeconfig: string, healthPort: number, readyPort: number): string {
  return `.:53 {
    bind ${listenAddress}
    errors
    health 127.0.0.1:${healthPort}
    ready 127.0.0.1:${readyPort}
    kubernetes ${CLUSTER_DOMAIN} in-addr.arpa ip6.arpa {
        kubeconfig ${kubeconfig}
        pods insecure
        ttl 5
    }
    loadbalance
}
`;
}
