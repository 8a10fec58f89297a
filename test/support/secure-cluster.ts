import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import * as https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tls from "node:tls";
import { pino } from "pino";
import { CA_CERT_FILE, clientCertFiles, memberCertFiles, memberPeerTls, memberServingTls, writeClusterPki } from "../../src/security/cluster-pki.js";
import type { ClientRole } from "../../src/security/member-identity.js";
import { TokenStore } from "../../src/security/tokens.js";
import { EXPIRY_TICK_INTERVAL_MS_DEFAULT, type ServerConfig } from "../../src/server/config.js";
import { type RunningServer, startServer } from "../../src/server/server.js";
import { freePorts } from "./ports.js";
import { waitFor } from "./wait.js";

export interface SecureMemberPorts {
  readonly peer: number;
  readonly http: number;
  readonly memcached: number;
  readonly client: number;
  /** Used only with SecureClusterOptions.adminPort. */
  readonly admin: number;
}

export interface SecureClusterOptions {
  /** TLS on the client ports (and member certificates on the peer port): the cluster's own CA. */
  readonly tls: boolean;
  readonly clientCertAuth?: boolean;
  /** Token-file text (token,name,role lines); undefined: no client authentication. */
  readonly tokens?: string;
  readonly memcachedFlushAll?: "admin" | "disabled";
  /** Serve the admin API on its own port (--admin-port). */
  readonly adminPort?: boolean;
  /** Member certificates also made for these ids (members that are not in the cluster). */
  readonly strangerMemberIds?: readonly number[];
  /** Client-port limits (the --connections-*, --client-*, --http-* flags); undefined: the defaults. */
  readonly clientLimits?: ServerConfig["clientLimits"];
}

/** Who a test request comes as: a token, a client certificate of a role, a member's certificate, or nothing. */
export interface As {
  readonly token?: string;
  readonly role?: ClientRole;
  readonly member?: number;
}

export interface HttpAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
}

export const CLUSTER_ID = "secure-test";

/**
 * Members in this process (startServer) with the security settings a test asks for:
 * a cluster CA with member and client-role certificates made by writeClusterPki, tokens,
 * TLS on the client ports. Requests go through https with the cluster CA and whichever
 * credential the test names. stop() stops every member and deletes the folder.
 */
export class SecureCluster {
  readonly servers = new Map<number, RunningServer>();
  private readonly sockets = new Set<tls.TLSSocket>();

  private constructor(readonly root: string, readonly ports: Map<number, SecureMemberPorts>, readonly options: SecureClusterOptions) {}

  static async create(size: number, options: SecureClusterOptions): Promise<SecureCluster> {
    const root = await mkdtemp(join(tmpdir(), "kvraft-secure-"));
    const flat = await freePorts(size * 5);
    const ports = new Map<number, SecureMemberPorts>();
    for (let i = 0; i < size; i++) {
      const [peer, http, memcached, client, admin] = flat.slice(i * 5, i * 5 + 5) as [number, number, number, number, number];
      ports.set(i + 1, { peer, http, memcached, client, admin });
    }
    const cluster = new SecureCluster(root, ports, options);
    if (options.tls) {
      await writeClusterPki(cluster.pkiDir, { clusterId: CLUSTER_ID, memberIds: [...ports.keys(), ...(options.strangerMemberIds ?? [])], clientRoles: ["read-only", "read-write", "admin"], validDays: 1 });
    }
    return cluster;
  }

  /** A cluster made, started, and with a leader every member knows. */
  static async started(size: number, options: SecureClusterOptions): Promise<SecureCluster> {
    const cluster = await SecureCluster.create(size, options);
    await cluster.startAll();
    await cluster.waitForLeader();
    return cluster;
  }

  get pkiDir(): string {
    return join(this.root, "pki");
  }

  get caPem(): string {
    return readFileSync(join(this.pkiDir, CA_CERT_FILE), "utf8");
  }

  config(id: number): ServerConfig {
    const p = this.ports.get(id) as SecureMemberPorts;
    const { options } = this;
    return {
      id, dataDir: join(this.root, `member-${id}`), peers: new Map([...this.ports].map(([peer, ports]) => [peer, { host: "127.0.0.1", port: ports.peer }])),
      initialClusterState: "new", clusterId: CLUSTER_ID, listenHost: "127.0.0.1",
      peerPort: p.peer, clientPort: p.client, httpPort: p.http, memcachedPort: p.memcached, adminPort: options.adminPort === true ? p.admin : undefined, advertise: {}, coordinator: undefined,
      tickMs: 50, heartbeatTicks: 1, electionTicks: 10, adminToken: undefined,
      tls: options.tls
        ? { client: memberServingTls(this.pkiDir, id, options.clientCertAuth === true), peer: memberPeerTls(this.pkiDir, id) }
        : { client: undefined, peer: undefined },
      tokens: options.tokens === undefined ? undefined : TokenStore.parse(options.tokens, "test tokens"),
      memcachedFlushAll: options.memcachedFlushAll ?? "admin",
      quotaBytes: 0, requestTimeoutMs: 3000, snapshotEveryEntries: 10_000, readyLagEntriesMax: 1000, pendingProposalsMax: 65536,
      shutdownTransferMs: 0, expiryTickIntervalMsMin: EXPIRY_TICK_INTERVAL_MS_DEFAULT,
      ...(options.clientLimits === undefined ? {} : { clientLimits: options.clientLimits }),
    };
  }

  async startAll(): Promise<void> {
    await Promise.all([...this.ports.keys()].map(async (id) => {
      this.servers.set(id, await startServer(this.config(id), pino({ level: "silent" })));
    }));
  }

  async waitForLeader(timeoutMs = 15_000): Promise<number> {
    return waitFor("a leader every member knows", () => {
      const statuses = [...this.servers.values()].map((server) => server.status());
      const leader = statuses.find((s) => s.role === "leader");
      return leader !== undefined && statuses.every((s) => s.leaderId === leader.memberId) ? leader.memberId : undefined;
    }, timeoutMs);
  }

  async stop(): Promise<void> {
    this.closeSockets();
    await Promise.all([...this.servers.values()].map((server) => server.shutdown("test over")));
    this.servers.clear();
    await rm(this.root, { recursive: true, force: true });
  }

  /** The TLS options of a connection as `as` (the cluster CA always; a certificate when asked). */
  tlsOptions(as: As = {}): tls.ConnectionOptions {
    const files = as.role !== undefined ? clientCertFiles(this.pkiDir, as.role) : as.member !== undefined ? memberCertFiles(this.pkiDir, as.member) : undefined;
    return {
      ca: this.caPem,
      ...(files === undefined ? {} : { cert: readFileSync(files.certFile, "utf8"), key: readFileSync(files.keyFile, "utf8") }),
    };
  }

  /** A TLS connection to member `id`'s memcached, binary client or HTTP port as `as`, once its handshake is done. */
  async dialTls(id: number, port: "memcached" | "client" | "http" | "admin", as: As = {}): Promise<tls.TLSSocket> {
    const socket = tls.connect({ host: "127.0.0.1", port: (this.ports.get(id) as SecureMemberPorts)[port], ...this.tlsOptions(as) });
    this.sockets.add(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once("secureConnect", resolve);
      socket.once("error", reject);
    });
    return socket;
  }

  /** Closes every connection dialTls made. */
  closeSockets(): void {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  /** One HTTP(S) request to member `id`'s HTTP port (or admin port). */
  request(id: number, method: string, path: string, as: As = {}, body?: string, headers: Record<string, string> = {}, on: "http" | "admin" = "http"): Promise<HttpAnswer> {
    const port = (this.ports.get(id) as SecureMemberPorts)[on];
    return httpsRequest({
      host: "127.0.0.1", port, path, method,
      headers: { ...headers, ...(as.token === undefined ? {} : { authorization: `Bearer ${as.token}` }), ...(body === undefined ? {} : { "content-length": String(Buffer.byteLength(body)) }) },
      ...this.tlsOptions(as),
      agent: false,
    }, body);
  }
}

export function httpsRequest(options: https.RequestOptions, body?: string): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const request = https.request({ timeout: 10_000, ...options }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, headers: response.headers, text: Buffer.concat(chunks).toString("utf8") }));
      response.on("error", reject);
    });
    request.on("timeout", () => request.destroy(new Error("no answer within 10 s")));
    request.on("error", reject);
    request.end(body);
  });
}
