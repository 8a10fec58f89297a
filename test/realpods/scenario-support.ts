/**
 * What the real-pod scenarios share: the dev cluster's kubectl and helm, waiting on a
 * KVRaftCluster's status, a client load through the client Service judged by porcupine and
 * src/lincheck, and one printed line per scenario.
 */
import { execFile } from "node:child_process";
import { expect } from "vitest";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import * as https from "node:https";
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

/** The server pods of KVRaftCluster `name` (the example cluster unless named). */
export async function serverPods(cluster: DevCluster, name = CLUSTER): Promise<PodJson[]> {
  const list = await cluster.controlPlane.getJson<{ items: PodJson[] }>(["get", "pods", "-n", NAMESPACE, "-l", `app.kubernetes.io/instance=${name},app.kubernetes.io/component=server`, "-o", "json"]);
  return list.items.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
}

export async function clusterStatus(cluster: DevCluster, name = CLUSTER): Promise<ClusterStatus> {
  const kvr = await cluster.controlPlane.getJson<{ status?: ClusterStatus }>(["get", "kvr", name, "-n", NAMESPACE, "-o", "json"]);
  return kvr.status ?? {};
}

/**
 * Waits until the KVRaftCluster is Running with `replicas` ready members, all of them
 * healthy voters, and as many Ready server pods.
 */
export async function waitRunning(cluster: DevCluster, replicas: number, timeoutMs: number, name = CLUSTER): Promise<ClusterStatus> {
  return waitFor(`${name} Running with ${replicas}/${replicas} ready voters`, async () => {
    const status = await clusterStatus(cluster, name);
    if (status.phase !== "Running" || status.readyReplicas !== replicas || status.replicas !== replicas) return undefined;
    const voters = (status.members ?? []).filter((m) => m.role === "voter" && m.healthy);
    if (voters.length !== replicas || (status.members ?? []).length !== replicas) return undefined;
    const pods = await serverPods(cluster, name);
    return pods.length === replicas && pods.every(isReady) ? status : undefined;
  }, timeoutMs, 1_000, () => cluster.assertHealthy());
}

export async function serviceIp(cluster: DevCluster, name: string): Promise<string> {
  return (await cluster.controlPlane.kubectlOk(["get", "service", name, "-n", NAMESPACE, "-o", "jsonpath={.spec.clusterIP}"])).trim();
}

/** The client Service's HTTP address (host:port), reachable from the machine through node 1. */
export async function clientHttp(cluster: DevCluster, name = CLUSTER): Promise<string> {
  return `${await serviceIp(cluster, `${name}-client`)}:${HTTP_PORT}`;
}

/**
 * What a client of the cluster needs now that the operator turns TLS on and requires
 * tokens: the CA bundle from the public ConfigMap NAME-ca, the read-write token from the
 * Secret NAME-client-tokens the operator generated, and the name every member's certificate carries (the client
 * Service's), since the machine reaches members by Service or pod IP, which no certificate names.
 */
export interface ClusterCredentials {
  readonly ca: string;
  readonly token: string;
  readonly caFile: string;
  readonly tokenFile: string;
  readonly servername: string;
}

export const CLIENT_SERVICE_NAME = `${CLUSTER}-client.${NAMESPACE}.svc`;

const credentialsByCluster = new WeakMap<DevCluster, Map<string, Promise<ClusterCredentials>>>();

/** A KVRaftCluster's credentials, read once per dev cluster (the CA lives for years, the token as long as its Secret). */
export function clusterCredentials(cluster: DevCluster, name = CLUSTER): Promise<ClusterCredentials> {
  const known = credentialsByCluster.get(cluster) ?? new Map<string, Promise<ClusterCredentials>>();
  credentialsByCluster.set(cluster, known);
  let credentials = known.get(name);
  if (credentials === undefined) {
    credentials = readCredentials(cluster, name);
    known.set(name, credentials);
    credentials.catch(() => known.delete(name));
  }
  return credentials;
}

async function readCredentials(cluster: DevCluster, name: string): Promise<ClusterCredentials> {
  const plane = cluster.controlPlane;
  const ca = await waitFor(`the CA bundle in ConfigMap ${name}-ca`, async () =>
    (await plane.kubectlOk(["get", "configmap", `${name}-ca`, "-n", NAMESPACE, "-o", "jsonpath={.data.ca\\.crt}"])).trim() || undefined, 60_000, 500);
  const tokenBase64 = await waitFor(`the read-write token in Secret ${name}-client-tokens`, async () =>
    (await plane.kubectlOk(["get", "secret", `${name}-client-tokens`, "-n", NAMESPACE, "-o", "jsonpath={.data.read-write}"])).trim() || undefined, 60_000, 500);
  const token = Buffer.from(tokenBase64, "base64").toString("utf8").trim();
  const dir = join(cluster.dir, name === CLUSTER ? "credentials" : `credentials-${name}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const caFile = join(dir, "ca.crt");
  const tokenFile = join(dir, "token");
  writeFileSync(caFile, `${ca}\n`);
  writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
  return { ca, token, caFile, tokenFile, servername: name === CLUSTER ? CLIENT_SERVICE_NAME : `${name}-client.${NAMESPACE}.svc` };
}

/** GET over HTTPS with the cluster's CA and token: status and parsed JSON body. */
export function httpsGetJson<T>(url: string, credentials: ClusterCredentials, timeoutMs: number): Promise<{ status: number; body: T }> {
  return httpsJson<T>("GET", url, credentials, timeoutMs);
}

/** A request over HTTPS with the cluster's CA and token (and a body, for a PUT): status and parsed JSON body. */
export async function httpsJson<T>(method: string, url: string, credentials: ClusterCredentials, timeoutMs: number, body?: string): Promise<{ status: number; body: T }> {
  const { status, text } = await httpsText(method, url, credentials, timeoutMs, body);
  try {
    return { status, body: JSON.parse(text) as T };
  } catch (error) {
    throw new Error(`${method} ${url}: ${status} with a body that is not JSON: ${(error as Error).message}`);
  }
}

/** A request over HTTPS with the cluster's CA and token: status and body as text (for /metrics). */
export function httpsText(method: string, url: string, credentials: ClusterCredentials, timeoutMs: number, body?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const request = https.request(url, {
      method, ca: credentials.ca, servername: credentials.servername, headers: { authorization: `Bearer ${credentials.token}`, accept: "application/json" }, timeout: timeoutMs,
    }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
      response.on("error", reject);
    });
    request.on("timeout", () => request.destroy(new Error(`${method} ${url}: no answer within ${timeoutMs} ms`)));
    request.on("error", reject);
    request.end(body);
  });
}

interface StatusJson { leaderId?: number }

/** The leader's member id, as a member's /v1/status says (through the client Service). */
export async function leaderId(httpEndpoint: string, credentials: ClusterCredentials): Promise<number> {
  return waitFor("a member to name the leader", async () => {
    const { body: status } = await httpsGetJson<StatusJson>(`https://${httpEndpoint}/v1/status`, credentials, 3_000);
    return typeof status.leaderId === "number" && status.leaderId > 0 ? status.leaderId : undefined;
  }, 30_000, 250);
}

/** Every key under the prefix with its value and version, read linearizably through the client Service. */
export async function readAllKeys(httpEndpoint: string, prefix: string, credentials: ClusterCredentials): Promise<KeyMap> {
  const keys = new Map<string, { value: string; version: number }>();
  let after = "";
  for (;;) {
    const url = `https://${httpEndpoint}/v1/kv?prefix=${encodeURIComponent(prefix)}&limit=1000${after === "" ? "" : `&after=${encodeURIComponent(after)}`}`;
    const { status, body: page } = await httpsGetJson<{ items: { key: string; value: string; version: number }[]; next: string | null }>(url, credentials, 10_000);
    if (status !== 200) throw new Error(`GET ${url}: ${status} ${JSON.stringify(page)}`);
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
  const credentials = await clusterCredentials(cluster);
  const workload = new Workload({
    seed, clients: 6, keys: 8, keyPrefix: `${name}/k`, endpoints: [`${client}:${CLIENT_PORT}`],
    token: credentials.token, tls: { ca: credentials.ca, servername: credentials.servername },
  });
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
  const state = await readAllKeys(await clientHttp(cluster), `${name}/`, credentials);
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

/**
 * SIGKILLs the processes of a pod's containers (not its sandbox's pause), found by the
 * pod's uid in their cgroups: the dev cluster's containers are processes of this machine.
 * A crash, where `kubectl delete pod` would give the container SIGTERM and a grace period
 * first. Returns how many were killed.
 */
export function killPodProcesses(podUid: string): number {
  const marks = [podUid, podUid.replaceAll("-", "_")];
  let killed = 0;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cgroups = readFileSync(`/proc/${entry}/cgroup`, "utf8");
      const command = readFileSync(`/proc/${entry}/cmdline`, "utf8");
      if (!marks.some((mark) => cgroups.includes(mark)) || command.startsWith("/pause")) continue;
      process.kill(Number(entry), "SIGKILL");
      killed += 1;
    } catch {
      // The process exited while the list was read.
    }
  }
  return killed;
}
