import type { Command } from "commander";
import { Option } from "commander";
import { loadOnRun } from "./load-on-run.js";

/** The flags of `kvraft dev-cluster up`, as commander parses them. */
export interface DevClusterUpFlags {
  nodes: string;
  image: string;
  build?: boolean;
}

export function registerDevClusterCommand(program: Command): void {
  const devCluster = program.command("dev-cluster")
    .description("a local Kubernetes with real pods and no Docker (kubelet, containerd, runc, CNI, CoreDNS, kube-proxy), to try the operator on")
    .addHelpText("after", `
Examples:
  sudo kvraft dev-cluster up                 # prints KUBECONFIG and the next commands; Ctrl-C stops it
  sudo kvraft dev-cluster down               # from another terminal: stops it, or sweeps what a killed one left

It needs root (it makes network namespaces, cgroups and mounts), Go (its Kubernetes
binaries are built from the Go modules pinned in tools/go, once, then cached), and a
clone of the repository (run it as node dist/cli.js after npm run build).`);

  devCluster.command("up")
    .description("start the control plane and the nodes, load the KVRaft image, and stay up until Ctrl-C or `dev-cluster down`")
    .addOption(new Option("--nodes <n>", "real nodes, each in its own network namespace").default("3"))
    .addOption(new Option("--image <name>", "the name the KVRaft image is loaded under (the chart's and examples/cluster.yaml's)").default("kvraft:0.1.0"))
    .addOption(new Option("--build", "build the missing Go-built binaries first (tens of minutes on 2 cores when nothing is cached)"))
    .addHelpText("after", `
What it starts, all on this machine:
  a bridge (10.250.x.1) and one network namespace per node (10.250.x.11, .12, ...), pods
  in 10.244.N.0/24 on node N, Services in 10.96.0.0/16; nothing routes off the machine
  etcd, kube-apiserver (on the bridge address), kube-controller-manager, kube-scheduler
  per node: containerd (registries closed: images are loaded, never pulled), a kubelet, kube-proxy
  one CoreDNS (cluster names only; nothing is forwarded off the machine), local volumes

Then, with the printed KUBECONFIG:
  helm install kvraft-operator charts/kvraft-operator --namespace kvraft-system --create-namespace
  kubectl apply -f examples/cluster.yaml
  kubectl get pods -o wide

Exit status: 0 after a clean stop; 1 when it could not start (tools not built, not root); 2 for bad flags.`)
    .action(loadOnRun(async () => (await import("./dev-cluster-run.js")).runDevClusterUp));

  devCluster.command("down")
    .description("stop a running dev cluster (it undoes everything it changed), and sweep what a killed one left")
    .action(loadOnRun(async () => (await import("./dev-cluster-run.js")).runDevClusterDown));
}
