/**
 * What the real-pod scenarios share: the dev cluster's kubectl and helm, waiting on a
 * KVRaftCluster's status, a client load through the client Service judged by porcupine and
 * src/lincheck, and one printed line per scenario.
 */
import { execFile } from "node:child_process";
import { expect } from "vitest";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import type { DevCluster } from "../../src/devcluster/dev-cluster.js";
import type { Operation } from "../../src/lincheck/index.js";
import type { ClusterStatus } from "../../src/operator/types.js";
import { lostAckedWrites, type KeyMap } from "../faults/after-heal.js";
import { judge } from "../faults/judge.js";
import { nowMicros, Workload } from "../faults/workload.js";
import { waitFor } from "../support/wait.js";

const run = promisify(execFile);

export const NAMESPACE = "default";
export const CLUSTER = "example";
/** Ports of the client Service (src/operator/desired/names.ts PORTS). */
export const CLIENT_PORT = 7100;
export const HTTP_PORT = 8080;

export interface PodJson {
  metadata: { name: string; uid: string; creationTimestamp?: string; deletionTimestamp?: string; labels?: Record<string, string> };
  spec: { nodeName?: string; containers?: { image: string }[]; volumes?: { persistentVolumeClaim?: { claimName: string } }[] };
  status: { podIP?: string; phase?: string; conditions?: { type: string; status: string }[] };
}

export const isReady = (pod: PodJson): boolean =>
  pod.metadata.deletionTimestamp === undefined && (pod.status.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");

export async function serverPods(cluster: DevCluster): Promise<PodJson[]> {
  const list = await cluster.controlPlane.getJson<{ items: PodJson[] }>(["get", "pods", "-n", NAMESPACE, "-l", `app.kubernetes.io/instance=${CLUSTER},app.kubernetes.io/component=server`, "-o", "json"]);
  return list.items.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
}

export async function clusterStatus(cluster: DevCluster): Promise<ClusterStatus> {
  const kvr = await cluster.controlPlane.getJson<{ status?: ClusterStatus }>(["get", "kvr", CLUSTER, "-n", NAMESPACE, "-o", "json"]);
  return kvr.status ?? {};
}

/**
 * Waits until the KVRaftCluster is Running with `replicas` ready members, all of them
 * healthy voters, and as many Ready server pods.
 */
export async function waitRunning(cluster: DevCluster, replicas: number, timeoutMs: number): Promise<ClusterStatus> {
  return waitFor(`${CLUSTER} Running with ${replicas}/${replicas} ready voters`, async () => {
    const status = await clusterStatus(cluster);
    if (status.phase !== "Running" || status.readyReplicas !== replicas || status.replicas !== replicas) return undefined;
    const voters = (status.members ?? []).filter((m) => m.role === "voter" && m.healthy);
    if (voters.length !== replicas || (status.members ?? []).length !== replicas) return undefined;
    const pods = await serverPods(cluster);
    return pods.length === replicas && pods.every(isReady) ? status : undefined;
  }, timeoutMs, 1_000, () => cluster.assertHealthy());
}

export async function serviceIp(cluster: DevCluster, name: string): Promise<string> {
  return (await cluster.controlPlane.kubectlOk(["get", "service", name, "-n", NAMESPACE, "-o", "jsonpath={.spec.clusterIP}"])).trim();
}

/** The client Service's HTTP address (host:port), reachable from the machine through node 1. */
export async function clientHttp(cluster: DevCluster): Promise<string> {
  return `${await serviceIp(cluster, `${CLUSTER}-client`)}:${HTTP_PORT}`;
}

interface StatusJson { leaderId?: number }

/** The leader's member id, as a member's /v1/status says (through the client Service). */
export async function leaderId(httpEndpoint: string): Promise<number> {
  return waitFor("a member to name the leader", async () => {
    const response = await fetch(`http://${httpEndpoint}/v1/status`, { signal: AbortSignal.timeout(3_000) });
    const status = await response.json() as StatusJson;
    return typeof status.leaderId === "number" && status.leaderId > 0 ? status.leaderId : undefined;
  }, 30_000, 250);
}

/** Every key under the prefix with its value and version, read linearizably through the client Service. */
export async function readAllKeys(httpEndpoint: string, prefix: string): Promise<KeyMap> {
  const keys = new Map<string, { value: string; version: number }>();
  let after = "";
  for (;;) {
    const url = `http://${httpEndpoint}/v1/kv?prefix=${encodeURIComponent(prefix)}&limit=1000${after === "" ? "" : `&after=${encodeURIComponent(after)}`}`;
    const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    if (!response.ok) throw new Error(`GET ${url}: ${response.status} ${await response.text()}`);
    const page = await response.json() as { items: { key: string; value: string; version: number }[]; next: string | null };
    for (const item of page.items) keys.set(item.key, { value: Buffer.from(item.value, "base64").toString("utf8"), version: item.version });
    if (page.next === null) return keys;
    after = page.next;
  }
}

/** The longest stretch without an acknowledged write from `fromMicros` on: the pause clients saw. */
export function longestWritePauseMs(history: readonly Operation[], fromMicros: number): number {
  const acked = history
    .filter((op) => Number.isFinite(op.returnTime) && op.output !== undefined && op.input.op !== "get" && op.returnTime >= fromMicros)
    .map((op) => op.returnTime).sort((a, b) => a - b);
  let longest = 0;
  let previous = fromMicros;
  for (const at of acked) {
    longest = Math.max(longest, at - previous);
    previous = at;
  }
  return Math.round(longest / 1000);
}

export interface ScenarioResult {
  readonly operations: number;
  readonly verdict: string;
  readonly lost: readonly string[];
  readonly figures: string;
}

/**
 * Runs a client load through the client Service around `disrupt`, then judges the history
 * and compares it with the cluster's final state. `disrupt` returns the figures to print.
 */
export async function underLoad(cluster: DevCluster, name: string, seed: number, disrupt: (startedMicros: number, history: () => readonly Operation[]) => Promise<string>): Promise<ScenarioResult> {
  const client = await serviceIp(cluster, `${CLUSTER}-client`);
  // Each scenario has keys of its own: the history starts from keys nobody wrote yet.
  const workload = new Workload({ seed, clients: 6, keys: 8, keyPrefix: `${name}/k`, endpoints: [`${client}:${CLIENT_PORT}`] });
  const started = nowMicros();
  workload.start();
  let figures: string;
  try {
    await waitFor("the first acknowledged writes", () => workload.history.some((op) => op.output !== undefined && op.input.op !== "get") || undefined, 30_000, 100);
    figures = await disrupt(started, () => workload.history);
    const before = workload.history.length;
    await waitFor("writes acknowledged after the disruption", () => workload.history.slice(before).filter((op) => op.output !== undefined && op.input.op !== "get").length >= 20 || undefined, 60_000, 100);
  } finally {
    await workload.stop();
  }
  const outDir = join(cluster.dir, "scenarios");
  mkdirSync(outDir, { recursive: true });
  const judgement = await judge(workload.history, join(outDir, `${name}.history.json`), join(outDir, `${name}.html`));
  const state = await readAllKeys(await clientHttp(cluster), `${name}/`);
  const lost = lostAckedWrites(workload.history, state);
  const verdict = judgement.disagree ? `checkers disagree (porcupine ${judgement.porcupine}, lincheck ${judgement.lincheck})`
    : judgement.porcupine === "ok" ? "linearizable" : `${judgement.porcupine}: ${judgement.lincheckReport ?? ""}`;
  const result = { operations: workload.history.length, verdict, lost, figures };
  process.stdout.write(`real pods, ${name}: ${result.operations} operations, ${verdict}, lost acknowledged writes ${lost.length}; ${figures}\n`);
  return result;
}

/** What every scenario under load must show: porcupine and lincheck agree the history is linearizable, and no acknowledged write is lost. */
export function expectSafe(result: ScenarioResult): void {
  expect(result.verdict).toBe("linearizable");
  expect(result.lost).toEqual([]);
}

/** Runs a program in node 1's network namespace, where cluster names resolve (CoreDNS), as in a pod. */
export async function onNode(cluster: DevCluster, command: string, args: readonly string[], timeoutMs = 30_000): Promise<string> {
  const { stdout } = await run("ip", ["netns", "exec", cluster.network.namespace(1), command, ...args], { timeout: timeoutMs, encoding: "utf8" });
  return stdout;
}
