import type { ChildProcess } from "node:child_process";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { KubeRig } from "../../src/devcluster/control-plane.js";
import { freePorts } from "../support/ports.js";
import { waitFor } from "../support/wait.js";

const CLI = fileURLToPath(new URL("../../dist/cli.js", import.meta.url));
/** Log lines kept per operator process, for assertions and failure messages. */
const LINES_MAX = 5_000;

export interface OperatorProcessOptions {
  readonly kubeconfig: string;
  readonly namespace: string;
  /** The admin API's URL (the test double's). */
  readonly adminEndpoint: string;
  readonly leaderElect?: { readonly identity: string; readonly leaseNamespace: string };
  readonly env?: NodeJS.ProcessEnv;
  /** More flags, after the harness's own (a repeated flag's last value wins). */
  readonly extraArgs?: readonly string[];
}

const KVRAFT_CRD = readFileSync(new URL("../../crds/kvraftcluster.yaml", import.meta.url), "utf8");

/** A CustomResourceDefinition as a test applies it (its name, for the wait until it is established). */
export interface CrdManifest {
  readonly metadata: { readonly name: string };
}

/**
 * A rig for operator tests: `namespace` made, the KVRaftCluster CRD and `extraCrds`
 * established. (Build the binaries first, in their own hook: see rigBinaries.)
 */
export async function startOperatorRig(namespace: string, extraCrds: readonly CrdManifest[] = []): Promise<KubeRig> {
  const rig = await KubeRig.start();
  await rig.kubectlOk(["create", "namespace", namespace]);
  await rig.apply(KVRAFT_CRD);
  for (const crd of extraCrds) await rig.apply(crd);
  const names = ["kvraftclusters.kvraft.io", ...extraCrds.map((c) => c.metadata.name)];
  await rig.kubectlOk(["wait", "--for=condition=Established", ...names.map((n) => `crd/${n}`), "--timeout=60s"]);
  return rig;
}

/** What an operator's /healthz answered. */
export interface Healthz {
  readonly status: number;
  readonly text: string;
}

/** GET /healthz of an operator (a child process or one started in the test) on its metrics port. */
export async function fetchHealthz(metricsPort: number): Promise<Healthz> {
  const response = await fetch(`http://127.0.0.1:${metricsPort}/healthz`, { signal: AbortSignal.timeout(5_000) });
  return { status: response.status, text: (await response.text()).trim() };
}

/** One planner step the operator logged having carried out ("AddLearner 4", "ScaleStatefulSet 5"...). */
export interface LoggedStep {
  readonly kind: string;
  readonly memberId?: number;
  readonly replicas?: number;
  readonly pod?: string;
}

/**
 * `kvraft operator` as a child process, the way it runs in a pod: its log lines are kept
 * (bounded) for the test to read, its metrics port is picked free, and `stop` ends it
 * (SIGTERM, then SIGKILL) whatever state it is in.
 */
export class OperatorProcess {
  readonly lines: string[] = [];
  readonly exited: Promise<number | null>;
  private exitCode: number | null | undefined;

  private constructor(private readonly child: ChildProcess, readonly metricsPort: number) {
    const keep = (chunk: Buffer): void => {
      for (const line of chunk.toString("utf8").split("\n")) {
        if (line.trim() === "") continue;
        this.lines.push(line);
        if (this.lines.length > LINES_MAX) this.lines.shift();
      }
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    this.exited = new Promise((resolve) => child.once("exit", (code) => {
      this.exitCode = code;
      resolve(code);
    }));
  }

  static async start(options: OperatorProcessOptions): Promise<OperatorProcess> {
    const [metricsPort] = await freePorts(1) as [number];
    const args = [
      CLI, "operator", "--kubeconfig", options.kubeconfig, "--namespace", options.namespace,
      "--metrics-host", "127.0.0.1", "--metrics-port", String(metricsPort),
      "--admin-endpoint-override", options.adminEndpoint, "--admin-deadline-ms", "3000",
      "--resync-seconds", "10", "--log-level", "debug",
    ];
    if (options.leaderElect !== undefined) {
      args.push("--leader-elect", "--identity", options.leaderElect.identity, "--lease-namespace", options.leaderElect.leaseNamespace,
        "--lease-duration-seconds", "4", "--renew-deadline-ms", "3000", "--retry-period-ms", "500");
    }
    args.push(...(options.extraArgs ?? []));
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...options.env } });
    return new OperatorProcess(child, metricsPort);
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  /** The steps it carried out, in order (from its log). */
  steps(): LoggedStep[] {
    const steps: LoggedStep[] = [];
    for (const line of this.lines) {
      let entry: { step?: LoggedStep; msg?: string };
      try {
        entry = JSON.parse(line) as { step?: LoggedStep; msg?: string };
      } catch {
        continue;
      }
      if (entry.step === undefined || entry.step.kind === "Wait" || entry.step.kind === "Done" || entry.msg?.startsWith("next step") === true) continue;
      const { kind, memberId, replicas, pod } = entry.step;
      steps.push({ kind, ...(memberId === undefined ? {} : { memberId }), ...(replicas === undefined ? {} : { replicas }), ...(pod === undefined ? {} : { pod }) });
    }
    return steps;
  }

  async metrics(): Promise<string> {
    const response = await fetch(`http://127.0.0.1:${this.metricsPort}/metrics`, { signal: AbortSignal.timeout(5_000) });
    return response.text();
  }

  /** The sum of a metric's samples whose labels contain `labels` (0 when absent). */
  async metric(name: string, labels: Record<string, string> = {}): Promise<number> {
    const text = await this.metrics();
    let sum = 0;
    for (const line of text.split("\n")) {
      const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
      if (match === null || match[1] !== name) continue;
      const labelText = match[2] ?? "";
      if (Object.entries(labels).every(([k, v]) => labelText.includes(`${k}="${v}"`))) sum += Number(match[3]);
    }
    return sum;
  }

  async healthz(): Promise<Healthz> {
    return fetchHealthz(this.metricsPort);
  }

  /** Waits until its metrics endpoint answers. */
  async ready(): Promise<void> {
    await waitFor("the operator's metrics endpoint", async () => {
      if (!this.running) throw new Error(`the operator exited with ${String(this.exitCode)}:\n${this.tail()}`);
      return (await this.metrics()).includes("kvraft_operator_reconciles_total") || undefined;
    }, 60_000, 200);
  }

  tail(lines = 40): string {
    return this.lines.slice(-lines).join("\n");
  }

  kill(): Promise<number | null> {
    if (this.running) this.child.kill("SIGKILL");
    return this.exited;
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 10_000);
    await this.exited;
    clearTimeout(timer);
  }
}
