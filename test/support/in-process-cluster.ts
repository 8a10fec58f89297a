import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import type { ServerConfig } from "../../src/server/config.js";
import { type RunningServer, startServer } from "../../src/server/server.js";
import { EXPIRY_TICK_INTERVAL_MS_DEFAULT } from "../../src/server/config.js";
import { errnoError, faultyIo } from "../storage/faulty-io.js";
import { type MemberPorts, memberPorts } from "./process-cluster.js";
import { waitFor } from "./wait.js";

export type ConfigOverrides = Partial<ServerConfig> | ((id: number) => Partial<ServerConfig>);

/** What a member's disk does: work, or fail every write (to the files `paths` matches, if given) or every fsync with an errno. */
export type DiskMode = "ok" | { readonly write: "ENOSPC" | "EDQUOT" | "EIO"; readonly paths?: RegExp } | { readonly fsync: "ENOSPC" | "EIO" };

/**
 * `kvraft server` members in this process (startServer), each with a disk whose writes
 * and fsyncs a test can make fail (the storage's FileIo seam), and its log lines kept.
 * Where real processes cannot be made to find a full disk, this can; `stopped` says
 * whether a member stopped by itself, as the process would exit.
 */
export class InProcessCluster {
  readonly servers = new Map<number, RunningServer>();
  readonly logs = new Map<number, string[]>();
  /** Members that stopped by themselves, with the error they stopped on. */
  readonly stopped = new Map<number, Error | undefined>();
  private readonly disks = new Map<number, DiskMode>();

  private constructor(readonly root: string, readonly ports: Map<number, MemberPorts>, private readonly overrides: ConfigOverrides) {}

  /** `overrides` apply to every member, or per member when a function (say, each member's own certificate). */
  static async create(size: number, overrides: ConfigOverrides = {}): Promise<InProcessCluster> {
    const root = await mkdtemp(join(tmpdir(), "kvraft-inproc-"));
    try {
      return new InProcessCluster(root, await memberPorts(size), overrides);
    } catch (error) {
      // No cluster to stop: the caller's cleanup never sees this dir.
      await rm(root, { recursive: true, force: true });
      throw error;
    }
  }

  dataDir(id: number): string {
    return join(this.root, `member-${id}`);
  }

  http(id: number): string {
    return `http://127.0.0.1:${(this.ports.get(id) as MemberPorts).http}`;
  }

  setDisk(id: number, mode: DiskMode): void {
    this.disks.set(id, mode);
  }

  config(id: number): ServerConfig {
    const p = this.ports.get(id) as MemberPorts;
    return {
      id, dataDir: this.dataDir(id), peers: new Map([...this.ports].map(([peer, ports]) => [peer, { host: "127.0.0.1", port: ports.peer }])),
      initialClusterState: "new", clusterId: undefined, listenHost: "127.0.0.1",
      peerPort: p.peer, clientPort: p.client, httpPort: p.http, memcachedPort: p.memcached, adminPort: undefined, advertise: {}, coordinator: undefined,
      tickMs: 50, heartbeatTicks: 1, electionTicks: 10, adminToken: undefined,
      tls: { client: undefined, peer: undefined }, tokens: undefined, memcachedFlushAll: "admin",
      quotaBytes: 0, requestTimeoutMs: 2000, snapshotEveryEntries: 10_000, readyLagEntriesMax: 1000, pendingProposalsMax: 65536,
      shutdownTransferMs: 0, expiryTickIntervalMsMin: EXPIRY_TICK_INTERVAL_MS_DEFAULT,
      diskFullRetryMsMin: 20, diskFullRetryMsMax: 200,
      ...(typeof this.overrides === "function" ? this.overrides(id) : this.overrides),
    };
  }

  /** Starts a member; rejects as `kvraft server` would exit at startup. */
  async start(id: number): Promise<RunningServer> {
    const lines = this.logs.get(id) ?? [];
    this.logs.set(id, lines);
    const log = pino({ level: "info", base: { member: id } }, { write: (line: string) => { lines.push(line.trim()); } });
    const mode = (): DiskMode => this.disks.get(id) ?? "ok";
    const io = faultyIo({
      write: (path) => {
        const m = mode();
        return m !== "ok" && "write" in m && (m.paths?.test(path) ?? true) ? { error: errnoError(m.write) } : undefined;
      },
      datasync: () => {
        const m = mode();
        return m !== "ok" && "fsync" in m ? errnoError(m.fsync) : undefined;
      },
    });
    const server = await startServer(this.config(id), log, { io });
    this.servers.set(id, server);
    this.stopped.delete(id);
    void server.stopped.then((error) => { if (this.servers.get(id) === server) this.stopped.set(id, error); });
    return server;
  }

  async startAll(): Promise<void> {
    await Promise.all([...this.ports.keys()].map((id) => this.start(id)));
  }

  server(id: number): RunningServer {
    const server = this.servers.get(id);
    if (server === undefined) throw new Error(`member ${id} is not running`);
    return server;
  }

  /** Waits until every running member knows one leader; returns it. */
  waitForLeader(timeoutMs = 15_000): Promise<number> {
    return waitFor("a leader every running member knows", () => {
      const statuses = [...this.servers.values()].map((s) => s.status());
      const leader = statuses.find((s) => s.role === "leader");
      if (leader === undefined) return undefined;
      return statuses.every((s) => s.leaderId === leader.memberId) ? leader.memberId : undefined;
    }, timeoutMs);
  }

  log(id: number): string {
    return (this.logs.get(id) ?? []).join("\n");
  }

  async stopAll(): Promise<void> {
    const servers = [...this.servers.values()];
    this.servers.clear();
    await Promise.all(servers.map((s) => s.shutdown("test over").catch(() => undefined)));
    await rm(this.root, { recursive: true, force: true });
  }
}
