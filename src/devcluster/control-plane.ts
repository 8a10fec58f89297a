import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GO_TOOLS_DIR, toolBinary } from "./go-tools.js";
import { makeRigPki, type RigPki } from "./certs.js";
import {
  APISERVER_SERVICE_IP, type ApiserverAddress, apiserverArgs, controllerManagerArgs, etcdArgs, kwokArgs, type RigPorts, schedulerArgs,
} from "./components.js";
import { describeFailure, type KubectlOptions, type KubectlResult, runKubectl } from "./kubectl.js";
import { writeKubeconfig } from "./kubeconfig.js";
import { fakeNodeManifests, kwokConfig, storageClassManifest } from "./kwok.js";
import { RIG_DIR_PREFIX, recordOwner, sweepAbandonedRigs } from "./leftovers.js";
import { probe, type ProbeTls } from "./probe.js";
import { RigProcess, untilWhileAlive } from "./process.js";
import { freeLoopbackPorts as freePorts } from "../bench/cluster/ports.js";

export { RIG_STORAGE_CLASS } from "./kwok.js";
export type { KubectlOptions, KubectlResult } from "./kubectl.js";

export interface RigKubectlOptions extends KubectlOptions {
  /** Run as someone else than the admin: the path of another kubeconfig for this rig. */
  readonly kubeconfig?: string;
}

export interface KubeRigOptions {
  /** Fake nodes kwok plays the kubelet for, one zone each (default 3); 0 runs no kwok (real nodes join later). */
  readonly nodes?: number;
  /** Where the apiserver listens (default loopback; real nodes need an address of their bridge). */
  readonly apiserverAddress?: ApiserverAddress;
  /** Where the rig's directory goes (default: a fresh temporary one). */
  readonly dir?: string;
  /** Extra kube-apiserver flags (feature gates, audit logging), after the rig's own. */
  readonly extraApiserverArgs?: readonly string[];
  /** Where the rig's own directory is made (default: the OS temporary directory). */
  readonly tempRoot?: string;
  /** Deadline for the whole start, binaries already built (default 180 s: a loaded 2-core machine is slow). */
  readonly startTimeoutMs?: number;
}

/** The Go-built binaries the rig runs; building them (once, cached) can take many minutes. */
export interface RigBinaries {
  readonly etcd: string;
  readonly kubeApiserver: string;
  readonly kubeControllerManager: string;
  readonly kubeScheduler: string;
  readonly kubectl: string;
  readonly kwok: string;
  readonly kwokDefaultStages: string;
}

/**
 * Builds (or finds in the cache) every binary the rig needs. Call it in a beforeAll with a
 * long hook timeout, apart from `KubeRig.start`, so a cold build is not charged to a start.
 */
export async function rigBinaries(): Promise<RigBinaries> {
  const [etcd, kubeApiserver, kubeControllerManager, kubeScheduler, kubectl, kwok, kwokDefaultStages] = await Promise.all([
    toolBinary("etcd", "etcd"),
    toolBinary("kube", "kube-apiserver"), toolBinary("kube", "kube-controller-manager"),
    toolBinary("kube", "kube-scheduler"), toolBinary("kube", "kubectl"),
    toolBinary("kwok", "kwok"), toolBinary("kwok", "kwok-default-stages"),
  ]);
  return { etcd, kubeApiserver, kubeControllerManager, kubeScheduler, kubectl, kwok, kwokDefaultStages };
}

/** The Kubernetes release tools/go/kube pins: what `/version` and `kubectl version` must say. */
export function pinnedKubernetesVersion(): string {
  const goMod = readFileSync(`${GO_TOOLS_DIR}kube/go.mod`, "utf8");
  const match = /^\s*(?:require\s+)?k8s\.io\/kubernetes\s+(v\S+)/m.exec(goMod);
  if (match?.[1] === undefined) throw new Error("tools/go/kube/go.mod does not require k8s.io/kubernetes");
  return match[1];
}

/** KVRAFT_RIG_KEEP=1 keeps a stopped rig's directory (logs, certificates, etcd data) for a post-mortem. */
export function keepsRigDir(): boolean {
  return (process.env.KVRAFT_RIG_KEEP ?? "") !== "";
}

const DEFAULT_START_TIMEOUT_MS = 180_000;
const STOP_GRACE_MS = 5_000;

/** Rigs alive in this process, killed outright if the process exits without stopping them. */
const liveRigs = new Set<KubeRig>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const rig of liveRigs) rig.killNow();
  });
}

/**
 * A real Kubernetes control plane on loopback for tests: etcd, kube-apiserver (RBAC on),
 * kube-controller-manager, kube-scheduler, and kwok with fake nodes on which scheduled pods
 * become Running and Ready, plus a default StorageClass whose claims kwok provisions.
 * Certificates, kubeconfig, ports and data live in a fresh temporary directory; `stop()`
 * ends every process and deletes it (set KVRAFT_RIG_KEEP=1 to keep it for a post-mortem).
 *
 *   beforeAll(() => rigBinaries(), 90 * 60_000);              // cold build: once per machine
 *   beforeAll(async () => { rig = await KubeRig.start(); }, 240_000);
 *   afterAll(() => rig?.stop(), 60_000);
 *   ... await rig.apply(manifest); await rig.kubectlOk(["get", "pods", "-n", ns]);
 *   ... spawn the operator with env: rig.env (KUBECONFIG set to the admin kubeconfig)
 *
 * A run killed outright (no afterAll) leaves processes behind; the next rig to start, in
 * any test, kills them and deletes their directory (see k8s-leftovers.ts).
 */
export class KubeRig {
  private readonly processes: RigProcess[] = [];
  private stopped: Promise<void> | undefined;

  private constructor(
    /** The rig's temporary directory: certificates, data, logs/ with each process's log. */
    readonly dir: string,
    readonly binaries: RigBinaries,
    readonly ports: RigPorts,
    /** The CA, and the keys to make more client certificates (kubelets, kube-proxy) with. */
    readonly pki: RigPki,
    /** Path of an admin kubeconfig (group system:masters, may impersonate anyone). */
    readonly kubeconfig: string,
    /** The address the apiserver listens on: loopback, or the dev cluster's bridge. */
    readonly apiserverHost: string,
  ) {}

  /** https://ADDRESS:PORT */
  get server(): string {
    return `https://${this.apiserverHost}:${this.ports.apiserver}`;
  }

  /** Environment for a child process (the operator, helm) that should talk to this rig. */
  get env(): NodeJS.ProcessEnv {
    return { ...process.env, KUBECONFIG: this.kubeconfig };
  }

  static async start(options: KubeRigOptions = {}): Promise<KubeRig> {
    const binaries = await rigBinaries();
    try {
      return await KubeRig.startOnce(binaries, options);
    } catch (error) {
      // Ports are picked free, then released for the processes to bind: another process can
      // take one in between. That race is retried once; any other failure is reported as is.
      if (!/address already in use/.test((error as Error).message)) throw error;
      process.stderr.write(`k8s rig: a port was taken between picking and binding it; starting again\n`);
      return KubeRig.startOnce(binaries, options);
    }
  }

  private static async startOnce(binaries: RigBinaries, options: KubeRigOptions): Promise<KubeRig> {
    const deadline = Date.now() + (options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS);
    const root = options.tempRoot ?? tmpdir();
    sweepAbandonedRigs(root);
    const dir = options.dir ?? mkdtempSync(join(root, RIG_DIR_PREFIX));
    mkdirSync(dir, { recursive: true });
    recordOwner(dir, []);
    mkdirSync(join(dir, "logs"));
    let rig: KubeRig | undefined;
    try {
      const [etcdClient, etcdPeer, apiserver, controllerManager, scheduler] = await freePorts(5) as [number, number, number, number, number];
      const ports: RigPorts = { etcdClient, etcdPeer, apiserver, controllerManager, scheduler };
      const address = options.apiserverAddress ?? { kind: "loopback" };
      const bindAddress = address.kind === "bridge" ? address.address : undefined;
      const pki = await makeRigPki(dir, { serviceIp: APISERVER_SERVICE_IP, ...(bindAddress === undefined ? {} : { bindAddress }) });
      const kubeconfig = join(dir, "admin.kubeconfig");
      rig = new KubeRig(dir, binaries, ports, pki, kubeconfig, bindAddress ?? "127.0.0.1");
      liveRigs.add(rig);
      installExitHook();
      await rig.boot(options, deadline);
      return rig;
    } catch (error) {
      if (rig !== undefined) await rig.stop();
      else rmSync(dir, { recursive: true, force: true });
      if (error instanceof Error && !keepsRigDir()) error.message += "\n(the rig's directory is deleted; KVRAFT_RIG_KEEP=1 keeps its logs)";
      throw error;
    }
  }

  private async boot(options: KubeRigOptions, deadline: number): Promise<void> {
    const nodes = options.nodes ?? 3;
    const left = (): number => Math.max(1_000, deadline - Date.now());
    const etcd = this.spawn("etcd", this.binaries.etcd, etcdArgs(this.dir, this.ports));
    await this.until("etcd to answer /health", etcd,
      async () => (await probe(`http://127.0.0.1:${this.ports.etcdClient}/health`))?.includes('"health":"true"') || undefined, left());

    const apiserver = this.spawn("kube-apiserver", this.binaries.kubeApiserver, [...apiserverArgs(this.dir, this.ports, this.pki, options.apiserverAddress), ...(options.extraApiserverArgs ?? [])]);
    const adminTls = await this.adminTls();
    await this.until("kube-apiserver to answer /readyz", apiserver, () => probe(`${this.server}/readyz`, adminTls), left());
    await writeKubeconfig(this.kubeconfig, this.server, this.pki.caCert, "kvraft-test-rig-admin",
      { kind: "certificate", certFile: this.pki.adminCert, keyFile: this.pki.adminKey });

    const controllerManager = this.spawn("kube-controller-manager", this.binaries.kubeControllerManager,
      controllerManagerArgs(this.dir, this.ports, this.pki, this.kubeconfig));
    const scheduler = this.spawn("kube-scheduler", this.binaries.kubeScheduler, schedulerArgs(this.dir, this.ports, this.kubeconfig));
    if (nodes > 0) await this.startKwok(nodes, left);
    await this.until("kube-controller-manager to answer /healthz", controllerManager,
      () => probe(`https://127.0.0.1:${this.ports.controllerManager}/healthz`), left());
    await this.until("kube-scheduler to answer /healthz", scheduler, () => probe(`https://127.0.0.1:${this.ports.scheduler}/healthz`), left());
    // The service account controller works once the default namespace has its account;
    // pods are refused until their namespace has one.
    await this.until("the default ServiceAccount (kube-controller-manager's controllers running)", controllerManager,
      async () => (await this.kubectl(["get", "serviceaccount", "default", "-n", "default", "-o", "name"])).code === 0 || undefined, left());
  }

  /** kwok plays the kubelet for `nodes` fake nodes, and provisions the claims of the rig's StorageClass. */
  private async startKwok(nodes: number, left: () => number): Promise<void> {
    const stages = await this.runTool(this.binaries.kwokDefaultStages, []);
    const kwokConfigFile = join(this.dir, "kwok.yaml");
    writeFileSync(kwokConfigFile, kwokConfig(stages));
    // kwok reads ~/.kwok/kwok.yaml if it exists: a home of its own keeps the user's out.
    const kwok = this.spawn("kwok", this.binaries.kwok, kwokArgs(this.kubeconfig, kwokConfigFile), { ...process.env, HOME: join(this.dir, "kwok-home") });
    await this.apply([storageClassManifest(), ...fakeNodeManifests(nodes)]);
    await this.until(`kwok to make ${nodes} node(s) Ready`, kwok, async () => {
      const list = await this.getJson<{ items: { status?: { conditions?: { type: string; status: string }[] } }[] }>(["get", "nodes", "-o", "json"]);
      const ready = list.items.filter((n) => n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"));
      return ready.length === nodes || undefined;
    }, left());
  }

  private async adminTls(): Promise<ProbeTls> {
    const [ca, cert, key] = await Promise.all([readFile(this.pki.caCert), readFile(this.pki.adminCert), readFile(this.pki.adminKey)]);
    return { ca, cert, key };
  }

  private spawn(name: string, binary: string, args: readonly string[], env?: NodeJS.ProcessEnv): RigProcess {
    const proc = new RigProcess(name, binary, args, join(this.dir, "logs", `${name}.log`), env);
    this.processes.push(proc);
    recordOwner(this.dir, this.processes.flatMap((p) => (p.pid === undefined ? [] : [p.pid])));
    return proc;
  }

  /**
   * Waits for a condition with a deadline; fails at once, quoting its log, if any rig
   * process dies meanwhile, and quotes the log of the process waited on at the deadline.
   */
  private until<T>(what: string, blame: RigProcess, check: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
    return untilWhileAlive(what, this.processes, blame, check, timeoutMs);
  }

  /** Throws, quoting its log, if any process of the rig has died. Tests may call it when something looks off. */
  assertHealthy(): void {
    for (const proc of this.processes) proc.assertAlive();
  }

  /** The last lines of every process's log, for a failure message. */
  logTails(lines = 20): string {
    return this.processes.map((p) => `--- ${p.name} (${p.logFile})\n${p.tail(lines)}`).join("\n");
  }

  private async runTool(binary: string, args: readonly string[]): Promise<string> {
    const result = await runKubectl(binary, args);
    if (result.code !== 0) throw new Error(describeFailure(args, result));
    return result.stdout;
  }

  /**
   * Runs the rig's kubectl, as the admin unless `options.kubeconfig` names another (for
   * example one from `serviceAccountKubeconfig`); never throws for a non-zero exit (see `kubectlOk`).
   */
  kubectl(args: readonly string[], options: RigKubectlOptions = {}): Promise<KubectlResult> {
    return runKubectl(this.binaries.kubectl, ["--kubeconfig", options.kubeconfig ?? this.kubeconfig, ...args], options);
  }

  /** Runs kubectl and returns its stdout; throws with kubectl's stderr if it fails. */
  async kubectlOk(args: readonly string[], options: RigKubectlOptions = {}): Promise<string> {
    const result = await this.kubectl(args, options);
    if (result.code !== 0) throw new Error(describeFailure(args, result));
    return result.stdout;
  }

  /** `kubectl ... -o json`, parsed. */
  async getJson<T>(args: readonly string[]): Promise<T> {
    return JSON.parse(await this.kubectlOk(args)) as T;
  }

  /** `kubectl apply -f -` of YAML text or of objects (sent as one List). */
  apply(manifests: string | object | readonly object[], extraArgs: readonly string[] = []): Promise<string> {
    const input = typeof manifests === "string" ? manifests
      : JSON.stringify(Array.isArray(manifests) ? { apiVersion: "v1", kind: "List", items: manifests } : manifests);
    return this.kubectlOk(["apply", "-f", "-", ...extraArgs], { input });
  }

  /**
   * A kubeconfig that authenticates as a ServiceAccount with a real token (TokenRequest),
   * so what it may do is exactly what RBAC grants that account.
   */
  async serviceAccountKubeconfig(namespace: string, name: string, durationSeconds = 7_200): Promise<string> {
    const token = (await this.kubectlOk(["create", "token", name, "-n", namespace, "--duration", `${durationSeconds}s`])).trim();
    const file = join(this.dir, `sa-${namespace}-${name}.kubeconfig`);
    await writeKubeconfig(file, this.server, this.pki.caCert, `system:serviceaccount:${namespace}:${name}`, { kind: "token", token });
    return file;
  }

  /** Pids of the rig's processes still running (tests check none survives `stop`). */
  runningPids(): number[] {
    return this.processes.filter((p) => p.isRunning()).flatMap((p) => (p.pid === undefined ? [] : [p.pid]));
  }

  /** Stops every process (controllers first, etcd last) and deletes the directory. Safe to call twice. */
  stop(): Promise<void> {
    this.stopped ??= this.shutdown();
    return this.stopped;
  }

  private async shutdown(): Promise<void> {
    const byName = (names: readonly string[]): RigProcess[] => this.processes.filter((p) => names.includes(p.name));
    const waves = [["kwok", "kube-scheduler", "kube-controller-manager"], ["kube-apiserver"], ["etcd"]];
    try {
      for (const wave of waves) await Promise.all(byName(wave).map((p) => p.stop(STOP_GRACE_MS)));
    } finally {
      liveRigs.delete(this);
      if (keepsRigDir()) process.stderr.write(`k8s rig: kept ${this.dir} (KVRAFT_RIG_KEEP)\n`);
      else rmSync(this.dir, { recursive: true, force: true });
    }
  }

  /** Kills every process at once, without waiting: only for a process that is exiting. */
  killNow(): void {
    for (const proc of this.processes) proc.killNow();
  }
}
