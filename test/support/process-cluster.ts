import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePorts } from "./ports.js";
import { waitFor } from "./wait.js";

export const CLI = fileURLToPath(new URL("../../dist/cli.js", import.meta.url));

export interface MemberPorts {
  readonly peer: number;
  readonly http: number;
  readonly memcached: number;
  readonly client: number;
}

export interface StatusJson {
  memberId: number;
  clusterId: string;
  role: string;
  membership: string;
  nonVoting: boolean;
  term: number;
  leaderId: number;
  commitIndex: number;
  appliedIndex: number;
  members: { id: number; membership: string; matchIndex?: number }[];
}

/** The --peer-* flags of member `id`, with the files writeClusterPki made in `dir`. */
export function peerTlsArgs(dir: string, id: number): string[] {
  return [
    "--peer-cert-file", join(dir, `member-${id}.crt`), "--peer-key-file", join(dir, `member-${id}.key`),
    "--peer-trusted-ca-file", join(dir, "ca.crt"),
  ];
}

/** Free ports for members 1..size, four each. */
export async function memberPorts(size: number): Promise<Map<number, MemberPorts>> {
  const flat = await freePorts(size * 4);
  const ports = new Map<number, MemberPorts>();
  for (let i = 0; i < size; i++) {
    ports.set(i + 1, { peer: flat[i * 4] as number, http: flat[i * 4 + 1] as number, memcached: flat[i * 4 + 2] as number, client: flat[i * 4 + 3] as number });
  }
  return ports;
}

/**
 * Real `kvraft server` processes on loopback, each with its own data dir and ports
 * picked at run time. Every process it starts is killed by `stop()`, which tests call
 * in afterEach/afterAll so a failing test leaves nothing running.
 */
export class ProcessCluster {
  readonly processes = new Map<number, ChildProcess>();
  readonly logs = new Map<number, string[]>();
  clusterId: string | undefined;
  /**
   * A folder made by writeClusterPki (src/security/cluster-pki.ts) for `clusterId`: when
   * set, each member runs its peer port with mutual TLS on its own member certificate.
   */
  peerPkiDir: string | undefined;

  private constructor(readonly root: string, readonly ports: Map<number, MemberPorts>, readonly extraArgs: readonly string[]) {}

  static async create(size: number, extraArgs: readonly string[] = []): Promise<ProcessCluster> {
    const root = await mkdtemp(join(tmpdir(), "kvraft-cluster-"));
    return new ProcessCluster(root, await memberPorts(size), extraArgs);
  }

  peersFlag(): string {
    return [...this.ports].map(([id, p]) => `${id}=127.0.0.1:${p.peer}`).join(",");
  }

  dataDir(id: number): string {
    return join(this.root, `member-${id}`);
  }

  http(id: number): string {
    return `http://127.0.0.1:${(this.ports.get(id) as MemberPorts).http}`;
  }

  start(id: number, args: readonly string[] = []): ChildProcess {
    const p = this.ports.get(id) as MemberPorts;
    const child = spawn(process.execPath, [CLI, "server",
      "--id", String(id), "--data-dir", this.dataDir(id), "--peers", this.peersFlag(), "--listen-host", "127.0.0.1",
      "--http-port", String(p.http), "--memcached-port", String(p.memcached), "--client-port", String(p.client),
      "--heartbeat-ms", "50", "--election-ms", "500", "--log-level", "warn",
      ...(this.clusterId === undefined ? [] : ["--cluster-id", this.clusterId]),
      ...(this.peerPkiDir === undefined ? [] : peerTlsArgs(this.peerPkiDir, id)),
      ...this.extraArgs, ...args,
    ], { stdio: ["ignore", "pipe", "pipe"] });
    const lines: string[] = this.logs.get(id) ?? [];
    this.logs.set(id, lines);
    const keep = (chunk: Buffer): void => {
      lines.push(...chunk.toString("utf8").split("\n").filter((l) => l !== ""));
      if (lines.length > 500) lines.splice(0, lines.length - 500);
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    this.processes.set(id, child);
    return child;
  }

  startAll(): void {
    for (const id of this.ports.keys()) this.start(id);
  }

  async status(id: number): Promise<StatusJson> {
    const response = await fetch(`${this.http(id)}/v1/status`, { signal: AbortSignal.timeout(2000) });
    return (await response.json()) as StatusJson;
  }

  /** Waits until every running member agrees on one leader; returns its id. */
  async waitForLeader(timeoutMs = 15_000): Promise<number> {
    return waitFor("a leader that every running member knows", async () => {
      const running = [...this.processes].filter(([, child]) => child.exitCode === null && child.signalCode === null).map(([id]) => id);
      const statuses = await Promise.all(running.map((id) => this.status(id)));
      const leader = statuses.find((s) => s.role === "leader");
      if (leader === undefined) return undefined;
      this.clusterId ??= leader.clusterId;
      return statuses.every((s) => s.leaderId === leader.memberId) ? leader.memberId : undefined;
    }, timeoutMs);
  }

  async kill(id: number, signal: NodeJS.Signals = "SIGKILL"): Promise<number | null> {
    const child = this.processes.get(id);
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return child?.exitCode ?? null;
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    child.kill(signal);
    return exited;
  }

  async stop(): Promise<void> {
    await Promise.all([...this.processes.keys()].map((id) => this.kill(id, "SIGKILL")));
    await rm(this.root, { recursive: true, force: true });
  }

  describe(): string {
    return [...this.logs].map(([id, lines]) => `--- member ${id}\n${lines.slice(-30).join("\n")}`).join("\n");
  }
}
