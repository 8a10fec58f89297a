import { readdirSync, readFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DEV_CLUSTER_DIR_PREFIX, DevCluster, devClusterBinaries, NODE_TOOLS, sweepAbandonedDevClusters } from "../devcluster/dev-cluster.js";
import { goTools } from "../devcluster/go-tools.js";
import { cachedRuntimeImage } from "../devcluster/image-cache.js";
import { processAlive } from "../devcluster/shell.js";
import { waitFor } from "../devcluster/wait.js";
import type { DevClusterUpFlags } from "./dev-cluster-command.js";

const CONTROL_PLANE_TOOLS = ["etcd", "kube", "kwok"] as const;
/** A cold build of every tool, measured on 2 cores (tools/go/<name>/tool.json has each one's). */
const COLD_BUILD_HINT = "about 25 minutes on 2 cores with nothing cached, under a minute when cached";
const DOWN_WAIT_MS = 120_000;

const say = (line: string): void => {
  process.stderr.write(`dev-cluster: ${line}\n`);
};

/** The clone this program runs from (dist/cli/ -> the repository). */
const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

export async function runDevClusterUp(flags: DevClusterUpFlags): Promise<number> {
  const nodes = Number(flags.nodes);
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > 9) {
    say(`--nodes must be a whole number from 1 to 9, got "${flags.nodes}"`);
    return 2;
  }
  if (process.getuid?.() !== 0) {
    say("needs root: it makes network namespaces, cgroups and mounts, as a kubelet does. Run it with sudo.");
    return 1;
  }
  const tools = await goTools().catch((error: Error) => error);
  if (tools instanceof Error) {
    say(tools.message);
    return 1;
  }
  const names = [...CONTROL_PLANE_TOOLS, ...NODE_TOOLS];
  const missing = names.filter((name) => tools.builtBinary(name, "") === undefined);
  if (missing.length > 0 && flags.build !== true) {
    say(`these tools are not built yet: ${missing.join(", ")}.\n  Build them once (${COLD_BUILD_HINT}, needs Go):\n` +
      `    node tools/go-tools.mjs build ${missing.join(" ")}\n  or run again with --build.`);
    return 1;
  }
  const binaries = await devClusterBinaries();
  say(`image ${flags.image}: assembling it from dist/ and the production dependencies (cached after the first time)`);
  const image = await cachedRuntimeImage({ repoRoot: REPO_ROOT, cacheDir: join(homedir(), ".cache", "kvraft-dev-cluster"), imageName: flags.image, log: say });

  let cluster: DevCluster;
  try {
    cluster = await DevCluster.start(binaries, { nodes, log: say, images: [{ file: image.file, name: flags.image }] });
  } catch (error) {
    say(`could not start: ${(error as Error).message}`);
    return 1;
  }
  const bin = (tool: string, binary: string): string => tools.builtBinary(tool, binary) ?? binary;
  process.stdout.write(`
KVRaft dev cluster is up: ${nodes} real node(s), pods on containerd, in ${cluster.dir}

  export KUBECONFIG=${cluster.kubeconfig}
  alias kubectl=${bin("kube", "kubectl")} helm=${bin("helm", "helm")}

Next:
  helm install kvraft-operator charts/kvraft-operator --namespace kvraft-system --create-namespace
  kubectl apply -f examples/cluster.yaml
  kubectl get pods -o wide        # three server pods on three nodes
  kubectl get nodes -o wide       # CONTAINER-RUNTIME: containerd

Ctrl-C here, or \`kvraft dev-cluster down\`, stops it and undoes every change to this machine.
`);
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  say("stopping: pods, nodes, control plane, network");
  const problems = await cluster.stop();
  for (const problem of problems) say(`left behind: ${problem}`);
  say(problems.length === 0 ? "stopped; nothing left behind" : "stopped, with the problems above");
  return problems.length === 0 ? 0 : 1;
}

/** Dev clusters whose `up` still runs: their owner's pid. */
function runningDevClusters(root: string): { dir: string; pid: number }[] {
  const found: { dir: string; pid: number }[] = [];
  for (const entry of readdirSync(root)) {
    if (!entry.startsWith(DEV_CLUSTER_DIR_PREFIX)) continue;
    try {
      const record = JSON.parse(readFileSync(join(root, entry, "owner.json"), "utf8")) as { pid: number };
      if (processAlive(record.pid)) found.push({ dir: join(root, entry), pid: record.pid });
    } catch {
      // being made, or not a dev cluster's
    }
  }
  return found;
}

export async function runDevClusterDown(): Promise<number> {
  const root = tmpdir();
  const running = runningDevClusters(root);
  for (const { dir, pid } of running) {
    say(`stopping the dev cluster in ${dir} (pid ${pid})`);
    process.kill(pid, "SIGTERM");
    try {
      await waitFor(`pid ${pid} to stop`, () => !processAlive(pid) || undefined, DOWN_WAIT_MS, 200);
    } catch (error) {
      say(`${(error as Error).message}; the sweep below undoes what it left`);
      process.kill(pid, "SIGKILL");
    }
  }
  const swept = await sweepAbandonedDevClusters(root);
  if (swept > 0) say(`swept ${swept} dev cluster(s) whose \`up\` had died`);
  if (running.length === 0 && swept === 0) say("no dev cluster was running");
  return 0;
}
