import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes, randomUUID } from "node:crypto";
import { adminFetch } from "../../src/client/admin.js";
import type { ClientTlsOptions } from "../../src/security/client-credentials.js";
import { CLI, type StatusJson } from "../support/process-cluster.js";
import { waitFor } from "../support/wait.js";
import type { NetnsNetwork } from "./netns.js";
import { coordinatorTlsArgs, type FaultClusterPki, memberTlsArgs, writeFaultClusterPki } from "./pki.js";

/** Ports inside each server's own namespace: the same on every server (each has its own address). */
export const SERVER_PORTS = { peer: 7001, http: 8080, client: 7100, memcached: 11211 } as const;
/** Log lines kept per process for a failure report. */
const LOG_LINES_MAX = 300;
const STATUS_TIMEOUT_MS = 1500;
const ADMIN_TIMEOUT_MS = 5000;

export interface ClusterOptions {
  readonly serverIds: readonly number[];
  /** KVRAFT_TEST_PLANT for every server (a deliberately broken server), or undefined. */
  readonly plant: string | undefined;
  /** Plain TCP and HTTP everywhere, as before issue 15 (to compare); default: TLS on every port. */
  readonly plaintext?: boolean;
}

/**
 * Real `kvraft server` processes, each in its own network namespace (see netns.ts), plus a
 * coordinator in the root namespace on the bridge. Data dirs are real directories on disk
 * and survive a kill; `wipe` deletes one. `stop` kills everything it started.
 *
 * Unless `plaintext`, the cluster runs secured as in production: a CA of its own, mutual
 * TLS between members on the peer port, TLS on the client ports and the coordinator
 * (members report to it with their member certificates), and a token on every request.
 * The cluster id is fixed up front: the member certificates name it.
 */
export class NetnsCluster {
  readonly processes = new Map<number, ChildProcess>();
  readonly paused = new Set<number>();
  private coordinator: ChildProcess | undefined;
  private readonly logs = new Map<string, string[]>();
  /** What the harness and the workload's clients trust: the cluster's CA; undefined in plaintext. */
  readonly clientTls: ClientTlsOptions | undefined;

  private constructor(
    readonly network: NetnsNetwork,
    readonly root: string,
    readonly options: ClusterOptions,
    readonly adminToken: string,
    readonly coordinatorPort: number,
    readonly clusterId: string,
    private readonly pki: FaultClusterPki | undefined,
  ) {
    this.clientTls = pki === undefined ? undefined : { ca: pki.caPem, caSource: `the fault cluster's CA ${pki.caFile}` };
  }

  static async create(network: NetnsNetwork, options: ClusterOptions): Promise<NetnsCluster> {
    const root = await mkdtemp(join(tmpdir(), "kvraft-faults-"));
    try {
      const token = randomBytes(16).toString("hex");
      await writeFile(join(root, "admin-token"), token, { mode: 0o600 });
      const clusterId = randomUUID();
      const pki = options.plaintext === true ? undefined : await writeFaultClusterPki(join(root, "pki"), {
        clusterId, memberIds: options.serverIds, memberAddresses: options.serverIds.map((id) => network.address(id)), hostAddress: network.hostAddress,
      });
      return new NetnsCluster(network, root, options, token, await freePortOn(network.hostAddress), clusterId, pki);
    } catch (error) {
      await rm(root, { recursive: true, force: true });
      throw error;
    }
  }

  private get scheme(): "http" | "https" {
    return this.pki === undefined ? "http" : "https";
  }

  get coordinatorUrl(): string {
    return `${this.scheme}://${this.network.hostAddress}:${this.coordinatorPort}`;
  }

  clientAddress(id: number): string {
    return `${this.network.address(id)}:${SERVER_PORTS.client}`;
  }

  http(id: number): string {
    return `${this.scheme}://${this.network.address(id)}:${SERVER_PORTS.http}`;
  }

  dataDir(id: number): string {
    return join(this.root, `member-${id}`);
  }

  private peersFlag(): string {
    return this.options.serverIds.map((id) => `${id}=${this.network.address(id)}:${SERVER_PORTS.peer}`).join(",");
  }

  startCoordinator(): void {
    this.coordinator = this.spawnLogged("coord", process.execPath, [CLI, "coord", "--host", this.network.hostAddress,
      "--port", String(this.coordinatorPort), "--log-level", "warn", ...(this.pki === undefined ? [] : coordinatorTlsArgs(this.pki))], process.env);
  }

  async killCoordinator(): Promise<void> {
    if (this.coordinator !== undefined) await killChild(this.coordinator, "SIGKILL");
    this.coordinator = undefined;
  }

  coordinatorRunning(): boolean {
    return this.coordinator !== undefined && isRunning(this.coordinator);
  }

  /** Starts (or restarts, on its data dir) a server inside its namespace. */
  start(id: number, extraArgs: readonly string[] = []): void {
    const address = this.network.address(id);
    const args = [CLI, "server", "--id", String(id), "--data-dir", this.dataDir(id), "--peers", this.peersFlag(),
      "--listen-host", address,
      "--peer-port", String(SERVER_PORTS.peer), "--http-port", String(SERVER_PORTS.http),
      "--client-port", String(SERVER_PORTS.client), "--memcached-port", String(SERVER_PORTS.memcached),
      "--advertise-peer", `${address}:${SERVER_PORTS.peer}`, "--advertise-http", `${address}:${SERVER_PORTS.http}`,
      "--advertise-client", `${address}:${SERVER_PORTS.client}`, "--advertise-memcached", `${address}:${SERVER_PORTS.memcached}`,
      "--coord", this.coordinatorUrl, "--admin-token-file", join(this.root, "admin-token"),
      "--heartbeat-ms", "50", "--election-ms", "500", "--snapshot-entries", "2000", "--request-timeout-ms", "3000",
      "--log-level", "warn", "--cluster-id", this.clusterId,
      ...(this.pki === undefined ? [] : memberTlsArgs(this.pki, id)),
      ...extraArgs];
    const env = { ...process.env, ...(this.options.plant === undefined ? {} : { KVRAFT_TEST_PLANT: this.options.plant }) };
    this.processes.set(id, this.spawnLogged(`server ${id}`, "ip", ["netns", "exec", this.network.namespace(id), process.execPath, ...args], env));
    this.paused.delete(id);
  }

  running(id: number): boolean {
    const child = this.processes.get(id);
    return child !== undefined && isRunning(child);
  }

  async kill(id: number): Promise<void> {
    const child = this.processes.get(id);
    if (child !== undefined) await killChild(child, "SIGKILL");
    this.paused.delete(id);
  }

  pause(id: number): void {
    const child = this.processes.get(id);
    if (child === undefined || !isRunning(child)) return;
    child.kill("SIGSTOP");
    this.paused.add(id);
  }

  resume(id: number): void {
    this.processes.get(id)?.kill("SIGCONT");
    this.paused.delete(id);
  }

  async wipe(id: number): Promise<void> {
    if (this.running(id)) throw new Error(`invariant: wiping the data dir of server ${id} while it runs`);
    await rm(this.dataDir(id), { recursive: true, force: true });
  }

  async status(id: number): Promise<StatusJson> {
    const response = await adminFetch(`${this.http(id)}/v1/status`, "GET", undefined, { deadlineMs: STATUS_TIMEOUT_MS, tls: this.clientTls });
    if (!response.ok) throw new Error(`status of server ${id}: HTTP ${response.status}`);
    return (await response.json()) as StatusJson;
  }

  /** Statuses of the servers that answer now (paused, killed or cut-off ones do not). */
  async statuses(): Promise<StatusJson[]> {
    const answers = await Promise.all(this.options.serverIds.map((id) => this.status(id).catch(() => undefined)));
    return answers.filter((s): s is StatusJson => s !== undefined);
  }

  /** The leader with the highest term among those that answer, if any. */
  async leader(): Promise<number | undefined> {
    const leaders = (await this.statuses()).filter((s) => s.role === "leader").sort((a, b) => b.term - a.term);
    return leaders[0]?.memberId;
  }

  async waitForLeader(timeoutMs = 90_000): Promise<number> {
    const everyServerExited = 0;
    const leader = await waitFor("a leader", async () => {
      if (this.options.serverIds.every((id) => !this.running(id))) return everyServerExited;
      const statuses = await this.statuses();
      const leader = statuses.filter((s) => s.role === "leader").sort((a, b) => b.term - a.term)[0];
      return leader?.memberId;
    }, timeoutMs, 100);
    if (leader === everyServerExited) throw new Error("every server exited before electing a leader (their last lines follow)");
    return leader;
  }

  /** An admin call through any answering member (members proxy admin changes to the leader). */
  async admin(method: "POST" | "DELETE", path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
    const statuses = await this.statuses();
    const via = statuses.find((s) => s.role === "leader") ?? statuses[0];
    if (via === undefined) throw new Error(`admin ${method} ${path}: no member answers`);
    const response = await adminFetch(`${this.http(via.memberId)}${path}`, method, body ?? {}, {
      token: this.adminToken, deadlineMs: ADMIN_TIMEOUT_MS, tls: this.clientTls,
    });
    return { status: response.status, json: await response.json().catch(() => undefined) };
  }

  /** The last lines each process wrote, for a failure report. */
  describe(): string {
    return [...this.logs].map(([name, lines]) => `--- ${name}\n${lines.slice(-20).join("\n")}`).join("\n");
  }

  /** Kills every process, deletes the data dirs. */
  async stop(): Promise<void> {
    await Promise.all([...this.processes.values()].map((child) => killChild(child, "SIGKILL")));
    await this.killCoordinator();
    await rm(this.root, { recursive: true, force: true });
  }

  private spawnLogged(name: string, command: string, args: readonly string[], env: NodeJS.ProcessEnv): ChildProcess {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], env });
    const lines = this.logs.get(name) ?? [];
    this.logs.set(name, lines);
    const keep = (chunk: Buffer): void => {
      lines.push(...chunk.toString("utf8").split("\n").filter((l) => l !== ""));
      if (lines.length > LOG_LINES_MAX) lines.splice(0, lines.length - LOG_LINES_MAX);
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    child.on("error", (error) => lines.push(`spawn failed: ${error.message}`));
    return child;
  }
}

function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

async function killChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (!isRunning(child)) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill(signal);
  await exited;
}

/** A port free right now on `host` (an address of this machine). */
function freePortOn(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, host, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
