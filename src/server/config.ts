import { type Bounds, checkBounds, type NumericBounds } from "../assert/bounds.js";
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
  /**
   * Quorum-loss recovery (recovery-start.ts): the member that rebuilds its data dir as the
   * only member of the new cluster `clusterId`; other members ignore it.
   */
  readonly recoverFromMember?: NodeId;
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
export const EXPIRY_TICK_INTERVAL_MS_BOUNDS: Bounds = [10, 1000];

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

const PORT: Bounds = [0, 65_535];
const DAY_MS = 24 * 60 * 60 * 1000;

/** Every numeric setting's bounds (the flags' units: ms, ticks derived from ms, bytes, entries). */
const BOUNDS: NumericBounds<ServerConfig> = {
  id: [1, Number.MAX_SAFE_INTEGER],
  recoverFromMember: [1, Number.MAX_SAFE_INTEGER],
  clientPort: PORT, httpPort: PORT, memcachedPort: PORT, peerPort: PORT, adminPort: PORT,
  tickMs: [1, 10_000],
  heartbeatTicks: [1, 1000],
  electionTicks: [2, 10_000],
  // 0: no quota. A tebibyte is far past what one member's memory holds.
  quotaBytes: [0, 1024 ** 4],
  requestTimeoutMs: [1, DAY_MS],
  snapshotEveryEntries: [1, 1_000_000_000],
  readyLagEntriesMax: [0, 1_000_000_000],
  pendingProposalsMax: [1, 10_000_000],
  appliedWaitersMax: APPLIED_WAITERS_MAX_BOUNDS,
  shutdownTransferMs: [0, 10 * 60_000],
  forwardsInFlightMax: FORWARDS_IN_FLIGHT_MAX_BOUNDS,
  expiryTickIntervalMsMin: EXPIRY_TICK_INTERVAL_MS_BOUNDS,
  diskFullRetryMsMin: DISK_FULL_RETRY_MS_BOUNDS,
  diskFullRetryMsMax: DISK_FULL_RETRY_MS_BOUNDS,
};

/** Settings that may be left out (their defaults live where they are used). */
const OPTIONAL_FIELDS = ["recoverFromMember", "adminPort", "appliedWaitersMax", "forwardsInFlightMax", "diskFullRetryMsMin", "diskFullRetryMsMax"] as const;

/** Checks the assembled config; a problem names the field (the flag's name in camelCase) and its unit. */
export function validateServerConfig(config: ServerConfig): ServerConfig {
  if (typeof config.dataDir !== "string" || config.dataDir.length === 0) throw new RangeError("dataDir: --data-dir is required");
  if (config.initialClusterState !== "new" && config.initialClusterState !== "existing") {
    throw new RangeError(`initialClusterState: must be new or existing, got ${String(config.initialClusterState)}`);
  }
  checkBounds(config, BOUNDS, (field, value, problem) => new RangeError(`${field}: ${problem}, got ${String(value)}`), OPTIONAL_FIELDS);
  if (config.electionTicks <= config.heartbeatTicks) throw new RangeError("electionTicks: --election-ms must be larger than --heartbeat-ms");
  const retryMsMin = config.diskFullRetryMsMin ?? DISK_FULL_RETRY_DEFAULTS.diskFullRetryMsMin;
  if (retryMsMin > (config.diskFullRetryMsMax ?? DISK_FULL_RETRY_DEFAULTS.diskFullRetryMsMax)) throw new RangeError("diskFullRetryMsMin: diskFullRetryMsMin must not be above diskFullRetryMsMax");
  if (config.recoverFromMember !== undefined && config.clusterId === undefined) {
    throw new RangeError("--recover-from-member needs --cluster-id: the NEW cluster's id (a returning member of the old cluster is refused because its id differs)");
  }
  if (!config.peers.has(config.id) && config.initialClusterState === "new") {
    throw new RangeError(`--peers must list this member (${config.id}) with its peer address when --initial-cluster-state is new`);
  }
  return config;
}
