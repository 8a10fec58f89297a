import { readdirSync, readFileSync } from "node:fs";
import { homedir, hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DEV_CLUSTER_DIR_PREFIX, DevCluster, devClusterBinaries, NODE_TOOLS, readOwner, sweepAbandonedDevClusters } from "../devcluster/dev-cluster.js";
import { GO_TOOLS_DIR, goTools } from "../devcluster/go-tools.js";
import { cachedRuntimeImage } from "../devcluster/image-cache.js";
import { processAlive } from "../devcluster/shell.js";
import { waitFor } from "../devcluster/wait.js";
import type { DevClusterUpFlags } from "./dev-cluster-command.js";

const CONTROL_PLANE_TOOLS = ["etcd", "kube", "kwok"] as const;

/** What building the missing tools costs with nothing cached: each tool.json says, as measured on 2 cores. */
function coldBuildHint(missing: readonly string[]): string {
  const minutes = missing.reduce((sum, name) => {
    try {
      return sum + Number((JSON.parse(readFileSync(join(GO_TOOLS_DIR, name, "tool.json"), "utf8")) as { coldBuildMinutes?: number }).coldBuildMinutes ?? 0);
    } catch {
      return sum;
    }
  }, 0);
  return `about ${Math.max(1, minutes)} minutes on 2 cores with nothing cached, less with Go's caches warm`;
}
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
    say(`these tools are not built yet: ${missing.join(", ")}.\n  Build them once (${coldBuildHint(missing)}, needs Go):\n` +
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

/** Dev clusters whose `up` still runs on this machine: their owner's pid (checked to be a `dev-cluster up`, never a reused pid). */
function runningDevClusters(root: string): { dir: string; pid: number }[] {
  const found: { dir: string; pid: number }[] = [];
  for (const entry of readdirSync(root)) {
    if (!entry.startsWith(DEV_CLUSTER_DIR_PREFIX)) continue;
    const record = readOwner(join(root, entry, "owner.json"));
    if (record === undefined || record.host !== hostname() || !isDevClusterUp(record.pid)) continue;
    found.push({ dir: join(root, entry), pid: record.pid });
  }
  return found;
}

function isDevClusterUp(pid: number): boolean {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    return argv.includes("dev-cluster") && argv.includes("up");
  } catch {
    return false;
  }
}

/** Signals a process that may exit at any moment: gone already is not an error. */
function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // exited meanwhile
  }
}

export async function runDevClusterDown(): Promise<number> {
  const root = tmpdir();
  const running = runningDevClusters(root);
  for (const { dir, pid } of running) {
    say(`stopping the dev cluster in ${dir} (pid ${pid})`);
    signal(pid, "SIGTERM");
    try {
      await waitFor(`pid ${pid} to stop`, () => !processAlive(pid) || undefined, DOWN_WAIT_MS, 200);
    } catch (error) {
      say(`${(error as Error).message}; the sweep below undoes what it left`);
      signal(pid, "SIGKILL");
    }
  }
  const swept = await sweepAbandonedDevClusters(root);
  if (swept > 0) say(`swept ${swept} dev cluster(s) whose \`up\` had died`);
  if (running.length === 0 && swept === 0) say("no dev cluster was running");
  return 0;
}
