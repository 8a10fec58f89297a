import { z } from "zod";
import type { NodeId } from "../raft/types.js";
import { DISK_FULL_RETRY_DEFAULTS, DISK_FULL_RETRY_MS_BOUNDS } from "./disk-full-retry.js";
import type { TlsFiles } from "../security/tls-material.js";
import type { TokenStore } from "../security/tokens.js";
import type { ClientLimits } from "./client-limits.js";
import { APPLIED_WAITERS_MAX_BOUNDS } from "./waiting-requests.js";
import { FORWARDS_IN_FLIGHT_MAX_BOUNDS } from "./forward-limits.js";

/** Where a member listens for each protocol, and what it tells others to use. */
export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

export interface ServerConfig {
  readonly id: NodeId;
  readonly dataDir: string;
  /** Every member of the first configuration (or the members this one knows), by id. */
  readonly peers: ReadonlyMap<NodeId, Endpoint>;
  readonly initialClusterState: "new" | "existing";
  readonly clusterId: string | undefined;
  readonly listenHost: string;
  readonly peerPort: number;
  readonly clientPort: number;
  readonly httpPort: number;
  readonly memcachedPort: number;
  /** The admin API's own port; undefined: the admin API shares the HTTP port. */
  readonly adminPort: number | undefined;
  readonly advertise: { readonly peer?: string; readonly client?: string; readonly http?: string; readonly memcached?: string; readonly admin?: string };
  readonly coordinator: string | undefined;
  readonly tickMs: number;
  readonly heartbeatTicks: number;
  readonly electionTicks: number;
  readonly adminToken: string | undefined;
  /**
   * TLS per kind of port (see docs/SECURITY.md). `client` serves HTTP, the binary client
   * port, memcached and the admin port; `peer` is the Raft port, mutual TLS with member
   * certificates (their identity URI names member and cluster). Undefined: plain TCP.
   */
  readonly tls: { readonly client: TlsFiles | undefined; readonly peer: TlsFiles | undefined };
  /**
   * Client tokens with roles (`--auth-token-file`, plus the admin token as role admin).
   * With tokens or client certificate auth, every data request must prove a role.
   */
  readonly tokens: TokenStore | undefined;
  /** Who may run memcached's flush_all: members of the admin role, or nobody. */
  readonly memcachedFlushAll: "admin" | "disabled";
  readonly quotaBytes: number;
  readonly requestTimeoutMs: number;
  readonly snapshotEveryEntries: number;
  readonly readyLagEntriesMax: number;
  readonly pendingProposalsMax: number;
  /** Callers of waitApplied waiting at once (APPLIED_WAITERS_MAX_DEFAULT when not given; bounded by APPLIED_WAITERS_MAX_BOUNDS). */
  readonly appliedWaitersMax?: number;
  readonly shutdownTransferMs: number;
  /** Requests a follower forwards to the leader at once (FORWARDS_IN_FLIGHT_MAX_DEFAULT when not given; bounded by FORWARDS_IN_FLIGHT_MAX_BOUNDS). */
  readonly forwardsInFlightMax?: number;
  /** See ReplicaOptions.expiryTickIntervalMsMin; bounded by EXPIRY_TICK_INTERVAL_MS_BOUNDS. */
  readonly expiryTickIntervalMsMin: number;
  /** How a write that found the disk full is retried (DISK_FULL_RETRY_DEFAULTS when not given; bounded by DISK_FULL_RETRY_MS_BOUNDS). */
  readonly diskFullRetryMsMin?: number;
  readonly diskFullRetryMsMax?: number;
  /** Connection limits of every client port (CLIENT_LIMITS_DEFAULTS when not given; validated by validateClientLimits). */
  readonly clientLimits?: ClientLimits;
  /** Bearer token the coordinator reporter sends (`--coord-token-file`); the member certificate (tls.peer) is the other way to prove membership. */
  readonly coordinatorToken?: string;
  /** Where this member writes its trace events (`--trace-log`); undefined: no tracing, at no cost. */
  readonly traceLog?: string;
}

/**
 * An idle leader's expiry ticks go out at most once per this many ms. The default keeps
 * expiry events within a fraction of a second of their deadline at 5 entries a second
 * at most; the minimum keeps ticks from flooding the log, and the maximum keeps expiry
 * within a second of its deadline (the promise watchers rely on).
 */
export const EXPIRY_TICK_INTERVAL_MS_DEFAULT = 200;
export const EXPIRY_TICK_INTERVAL_MS_BOUNDS = { min: 10, max: 1000 } as const;

/** `1=host:7001,2=host:7002`: member ids with their peer (Raft) addresses. */
export function parsePeers(text: string): Map<NodeId, Endpoint> {
  const peers = new Map<NodeId, Endpoint>();
  for (const part of text.split(",").map((p) => p.trim()).filter((p) => p !== "")) {
    const match = /^(\d+)=(.+):(\d+)$/.exec(part);
    if (match === null) throw new RangeError(`--peers: "${part}" is not ID=HOST:PORT (for example 1=10.0.0.1:7000)`);
    const id = Number(match[1]);
    const port = Number(match[3]);
    if (id < 1) throw new RangeError(`--peers: member ids start at 1, got ${id} in "${part}"`);
    if (port < 1 || port > 65535) throw new RangeError(`--peers: port ${port} in "${part}" is not 1..65535`);
    if (peers.has(id)) throw new RangeError(`--peers: member ${id} appears twice`);
    peers.set(id, { host: match[2] as string, port });
  }
  return peers;
}

const port = z.number().int().min(0).max(65535);
const diskFullRetryMs = z.number().int().min(DISK_FULL_RETRY_MS_BOUNDS.min).max(DISK_FULL_RETRY_MS_BOUNDS.max);

/** Checks the assembled config; a problem names the flag. */
export const serverConfigSchema = z.object({
  id: z.number().int().min(1, "--id: member ids start at 1 (0 means none inside Raft)"),
  dataDir: z.string().min(1, "--data-dir is required"),
  initialClusterState: z.enum(["new", "existing"]),
  clientPort: port, httpPort: port, memcachedPort: port, peerPort: port, adminPort: port.optional(),
  tickMs: z.number().int().min(1).max(10_000),
  heartbeatTicks: z.number().int().min(1),
  electionTicks: z.number().int().min(2),
  quotaBytes: z.number().int().min(0),
  requestTimeoutMs: z.number().int().min(1),
  snapshotEveryEntries: z.number().int().min(1),
  readyLagEntriesMax: z.number().int().min(0),
  pendingProposalsMax: z.number().int().min(1),
  appliedWaitersMax: z.number().int()
    .min(APPLIED_WAITERS_MAX_BOUNDS.min, `must be at least ${APPLIED_WAITERS_MAX_BOUNDS.min} waiter (reads wait for their index to apply)`)
    .max(APPLIED_WAITERS_MAX_BOUNDS.max, `must be at most ${APPLIED_WAITERS_MAX_BOUNDS.max} waiters (each Ready scans them all)`).optional(),
  shutdownTransferMs: z.number().int().min(0),
  forwardsInFlightMax: z.number().int()
    .min(FORWARDS_IN_FLIGHT_MAX_BOUNDS.min, `must be at least ${FORWARDS_IN_FLIGHT_MAX_BOUNDS.min} request (followers forward what they cannot serve)`)
    .max(FORWARDS_IN_FLIGHT_MAX_BOUNDS.max, `must be at most ${FORWARDS_IN_FLIGHT_MAX_BOUNDS.max} requests (each holds its command and a timer)`).optional(),
  expiryTickIntervalMsMin: z.number().int()
    .min(EXPIRY_TICK_INTERVAL_MS_BOUNDS.min, `must be at least ${EXPIRY_TICK_INTERVAL_MS_BOUNDS.min} ms (more ticks would flood the log)`)
    .max(EXPIRY_TICK_INTERVAL_MS_BOUNDS.max, `must be at most ${EXPIRY_TICK_INTERVAL_MS_BOUNDS.max} ms (expiry must fire within a second of its deadline)`),
  diskFullRetryMsMin: diskFullRetryMs.optional(),
  diskFullRetryMsMax: diskFullRetryMs.optional(),
}).refine((c) => c.electionTicks > c.heartbeatTicks, { message: "--election-ms must be larger than --heartbeat-ms" })
  .refine((c) => (c.diskFullRetryMsMin ?? DISK_FULL_RETRY_DEFAULTS.diskFullRetryMsMin) <= (c.diskFullRetryMsMax ?? DISK_FULL_RETRY_DEFAULTS.diskFullRetryMsMax), {
    message: "diskFullRetryMsMin must not be above diskFullRetryMsMax", path: ["diskFullRetryMsMin"],
  });

export function validateServerConfig(config: ServerConfig): ServerConfig {
  const result = serverConfigSchema.safeParse(config);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new RangeError(`${issue?.path.join(".") ?? "config"}: ${issue?.message ?? "invalid"}`);
  }
  if (!config.peers.has(config.id) && config.initialClusterState === "new") {
    throw new RangeError(`--peers must list this member (${config.id}) with its peer address when --initial-cluster-state is new`);
  }
  return config;
}
