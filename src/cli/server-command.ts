import type { Command } from "commander";
import { Option } from "commander";
import { loadOnRun } from "./load-on-run.js";

/**
 * The client-port limits' defaults as the flags show them. Written out here because
 * printing --help must not load the server layer (test/cli/lazy-verbs.test.ts); a test
 * holds them equal to the server's CLIENT_LIMITS_DEFAULTS.
 */
export const CLIENT_LIMIT_FLAG_DEFAULTS = Object.freeze({
  connectionsMax: 1024, connectionsPerAddressMax: 256, idleTimeoutMs: 300_000, handshakeTimeoutMs: 10_000, handshakeBytesMax: 4096,
  httpHeadersTimeoutMs: 10_000, httpRequestTimeoutMs: 300_000, httpKeepAliveTimeoutMs: 5000, httpHeaderBytesMax: 16_384,
});

/** The flags of `kvraft server`, as commander parses them. */
export interface ServerFlags {
  id?: string; dataDir: string; peers: string; initialClusterState: string; clusterId?: string; recoverFromMember?: string;
  listenHost: string; peerPort?: string; clientPort: string; httpPort: string; memcachedPort: string; adminPort?: string;
  advertisePeer?: string; advertiseClient?: string; advertiseHttp?: string; advertiseMemcached?: string; advertiseAdmin?: string;
  coord?: string; heartbeatMs: string; electionMs: string; adminTokenFile?: string; quotaBytes: string;
  requestTimeoutMs: string; snapshotEntries: string; readyLagEntries: string; shutdownTransferMs: string;
  logLevel: string;
  memoryMib?: string;
  certFile?: string; keyFile?: string; trustedCaFile?: string; clientCertAuth?: boolean;
  peerCertFile?: string; peerKeyFile?: string; peerTrustedCaFile?: string;
  authTokenFile?: string; memcachedFlushAll: string;
  connectionsMax: string; connectionsPerAddressMax: string; clientIdleTimeoutMs: string; clientHandshakeTimeoutMs: string; clientHandshakeBytesMax: string;
  httpHeadersTimeoutMs: string; httpRequestTimeoutMs: string; httpKeepAliveTimeoutMs: string; httpHeaderBytesMax: string;
  coordTokenFile?: string;
  traceLog?: string;
}

const opt = (flags: string, description: string, env: string, defaultValue?: string): Option => {
  const option = new Option(flags, description).env(env);
  return defaultValue === undefined ? option : option.default(defaultValue);
};

export function registerServerCommand(program: Command): void {
  program.command("server")
    .description("run one KVRaft member (what each StatefulSet pod runs)")
    .addOption(opt("--id <n>", "this member's id, 1 or more (in a pod, leave it out: pod NAME-i, from POD_NAME, is member i+1)", "KVRAFT_ID"))
    .addOption(opt("--data-dir <dir>", "where the WAL and snapshots live (one member per dir)", "KVRAFT_DATA_DIR").makeOptionMandatory())
    .addOption(opt("--peers <list>", "ID=HOST:PORT,... the members' peer (Raft) addresses, this one included", "KVRAFT_PEERS", ""))
    .addOption(opt("--initial-cluster-state <state>", "new: an empty data dir founds the cluster from --peers; existing: an empty data dir waits, non-voting, to be added", "KVRAFT_INITIAL_CLUSTER_STATE", "new").choices(["new", "existing"]))
    .addOption(opt("--cluster-id <id>", "the cluster's id (generated and printed for a new cluster; required to join one)", "KVRAFT_CLUSTER_ID"))
    .addOption(opt("--recover-from-member <id>", "quorum-loss recovery: if this is member <id>, rebuild its data dir as the only member of the NEW cluster --cluster-id (keeping every entry of its log) before starting; other members ignore it. Members of the old cluster are refused from then on. See docs/DISASTER-RECOVERY.md", "KVRAFT_RECOVER_FROM_MEMBER"))
    .addOption(opt("--listen-host <host>", "address to bind every port on (0.0.0.0: every interface, as a pod needs)", "KVRAFT_LISTEN_HOST", "127.0.0.1"))
    .addOption(opt("--peer-port <port>", "Raft port (default: this member's port in --peers)", "KVRAFT_PEER_PORT"))
    .addOption(opt("--client-port <port>", "binary client protocol port (0: pick one)", "KVRAFT_CLIENT_PORT", "7100"))
    .addOption(opt("--http-port <port>", "HTTP/JSON API, /metrics, /healthz, /readyz (0: pick one)", "KVRAFT_HTTP_PORT", "8080"))
    .addOption(opt("--memcached-port <port>", "memcached text protocol port (0: pick one)", "KVRAFT_MEMCACHED_PORT", "11211"))
    .addOption(opt("--admin-port <port>", "serve the admin API (and /v1/status) on its own port, off the HTTP port, so a network policy can admit only the operator there (default: shared with --http-port)", "KVRAFT_ADMIN_PORT"))
    .addOption(opt("--advertise-peer <host:port>", "peer address others should use", "KVRAFT_ADVERTISE_PEER"))
    .addOption(opt("--advertise-client <host:port>", "client address given in redirects", "KVRAFT_ADVERTISE_CLIENT"))
    .addOption(opt("--advertise-http <host:port>", "HTTP address others forward to", "KVRAFT_ADVERTISE_HTTP"))
    .addOption(opt("--advertise-memcached <host:port>", "memcached address", "KVRAFT_ADVERTISE_MEMCACHED"))
    .addOption(opt("--advertise-admin <host:port>", "admin API address other members proxy to (with --admin-port)", "KVRAFT_ADVERTISE_ADMIN"))
    .addOption(opt("--coord <url>", "coordinator to register with (discovery only)", "KVRAFT_COORD"))
    .addOption(opt("--heartbeat-ms <ms>", "leader heartbeat interval (one Raft tick)", "KVRAFT_HEARTBEAT_MS", "100"))
    .addOption(opt("--election-ms <ms>", "base election timeout (randomised up to twice this)", "KVRAFT_ELECTION_MS", "1000"))
    .addOption(opt("--admin-token-file <file>", "bearer token for /v1/admin, role admin (without one the admin API answers loopback only); an empty file is refused", "KVRAFT_ADMIN_TOKEN_FILE"))
    .addOption(opt("--auth-token-file <file>", "client tokens, one token,name,role per line (role: read-only, read-write or admin); with it every request needs 'Authorization: Bearer <token>' or a client certificate", "KVRAFT_AUTH_TOKEN_FILE"))
    .addOption(opt("--cert-file <file>", "TLS certificate of the client ports (HTTPS, binary, memcached, admin)", "KVRAFT_CERT_FILE"))
    .addOption(opt("--key-file <file>", "TLS key of --cert-file", "KVRAFT_KEY_FILE"))
    .addOption(opt("--trusted-ca-file <file>", "CA that signs client certificates (with --client-cert-auth)", "KVRAFT_TRUSTED_CA_FILE"))
    .addOption(new Option("--client-cert-auth", "require a client certificate signed by --trusted-ca-file on the client ports (its kvraft://role/ROLE URI names the role)").env("KVRAFT_CLIENT_CERT_AUTH"))
    .addOption(opt("--peer-cert-file <file>", "this member's certificate for the peer port (mutual TLS; its URI kvraft://member/ID?cluster=CLUSTER names the member)", "KVRAFT_PEER_CERT_FILE"))
    .addOption(opt("--peer-key-file <file>", "key of --peer-cert-file", "KVRAFT_PEER_KEY_FILE"))
    .addOption(opt("--peer-trusted-ca-file <file>", "the cluster's CA: peers must present a member certificate it signed", "KVRAFT_PEER_TRUSTED_CA_FILE"))
    .addOption(opt("--memcached-flush-all <who>", "who may run memcached flush_all (it empties the whole store): admin = a connection authenticated with an admin token or certificate, and only clients on loopback when no client authentication is configured; disabled = nobody", "KVRAFT_MEMCACHED_FLUSH_ALL", "admin").choices(["admin", "disabled"]))
    .addOption(opt("--quota-bytes <n>", "refuse writes that grow the data past this (0: no quota)", "KVRAFT_QUOTA_BYTES", String(2 * 1024 ** 3)))
    .addOption(opt("--request-timeout-ms <ms>", "how long a request may wait for the cluster", "KVRAFT_REQUEST_TIMEOUT_MS", "5000"))
    .addOption(opt("--snapshot-entries <n>", "take a local snapshot every this many applied entries", "KVRAFT_SNAPSHOT_ENTRIES", "10000"))
    .addOption(opt("--ready-lag-entries <n>", "/readyz fails while applied lags commit by more", "KVRAFT_READY_LAG_ENTRIES", "1000"))
    .addOption(opt("--shutdown-transfer-ms <ms>", "on SIGTERM, how long a leader waits for leadership to move", "KVRAFT_SHUTDOWN_TRANSFER_MS", "2000"))
    .addOption(opt("--connections-max <n>", "open connections per client port (binary, memcached, HTTP, admin)", "KVRAFT_CONNECTIONS_MAX", String(CLIENT_LIMIT_FLAG_DEFAULTS.connectionsMax)))
    .addOption(opt("--connections-per-address-max <n>", "open connections per client port from one remote address; more are refused", "KVRAFT_CONNECTIONS_PER_ADDRESS_MAX", String(CLIENT_LIMIT_FLAG_DEFAULTS.connectionsPerAddressMax)))
    .addOption(opt("--client-idle-timeout-ms <ms>", "binary and memcached ports: close a connection with no request for this long (an open watch is not idle)", "KVRAFT_CLIENT_IDLE_TIMEOUT_MS", String(CLIENT_LIMIT_FLAG_DEFAULTS.idleTimeoutMs)))
    .addOption(opt("--client-handshake-timeout-ms <ms>", "binary port: close a connection that has not sent HELLO by then; with TLS, binary and memcached ports: also one that has not finished its TLS handshake", "KVRAFT_CLIENT_HANDSHAKE_TIMEOUT_MS", String(CLIENT_LIMIT_FLAG_DEFAULTS.handshakeTimeoutMs)))
    .addOption(opt("--client-handshake-bytes-max <n>", "binary port: bytes accepted before HELLO (the HELLO frame must fit)", "KVRAFT_CLIENT_HANDSHAKE_BYTES_MAX", String(CLIENT_LIMIT_FLAG_DEFAULTS.handshakeBytesMax)))
    .addOption(opt("--http-headers-timeout-ms <ms>", "HTTP: a request's headers must arrive within this (slow senders are closed with 408)", "KVRAFT_HTTP_HEADERS_TIMEOUT_MS", String(CLIENT_LIMIT_FLAG_DEFAULTS.httpHeadersTimeoutMs)))
    .addOption(opt("--http-request-timeout-ms <ms>", "HTTP: a whole request, body included, must arrive within this", "KVRAFT_HTTP_REQUEST_TIMEOUT_MS", String(CLIENT_LIMIT_FLAG_DEFAULTS.httpRequestTimeoutMs)))
    .addOption(opt("--http-keep-alive-timeout-ms <ms>", "HTTP: close a kept-alive connection with no request for this long", "KVRAFT_HTTP_KEEP_ALIVE_TIMEOUT_MS", String(CLIENT_LIMIT_FLAG_DEFAULTS.httpKeepAliveTimeoutMs)))
    .addOption(opt("--http-header-bytes-max <n>", "HTTP: request line and headers larger than this are answered 431", "KVRAFT_HTTP_HEADER_BYTES_MAX", String(CLIENT_LIMIT_FLAG_DEFAULTS.httpHeaderBytesMax)))
    .addOption(opt("--coord-token-file <file>", "token this member presents to the coordinator (its --auth-token-file); over an https:// --coord the member certificate (--peer-cert-file) is presented too", "KVRAFT_COORD_TOKEN_FILE"))
    .addOption(opt("--trace-log <file>", "write a trace event (with a vector clock, the format ShiViz draws) for every Raft message this member sends and receives, its coordinator heartbeats and its role, commit and apply changes; the file is truncated at start; merge the members' and the coordinator's files with 'kvraft trace merge' (default: no tracing, at no cost)", "KVRAFT_TRACE_LOG"))
    .addOption(opt("--memory-mib <n>", "memory this member may use; the JavaScript heap gets 75% (pods: the container's limit)", "KVRAFT_MEMORY_MIB"))
    .addOption(opt("--log-level <level>", "trace, debug, info, warn, error", "KVRAFT_LOG_LEVEL", "info"))
    .addHelpText("after", `
Every flag can also be set by the environment variable shown (for pods).
Certificate and key files are reloaded when they change (no restart for a rotation).
Without --peer-cert-file anyone who can reach the peer port can pose as a member: use
it (kvraft local and the operator do) wherever the peer port is not on loopback.

Examples:
  # a 3-member cluster on one machine
  kvraft server --id 1 --data-dir d1 --peers 1=127.0.0.1:7001,2=127.0.0.1:7002,3=127.0.0.1:7003 --http-port 8081 --memcached-port 11211 --client-port 7101
  # trace a run, then draw it: merge the files and open the result in ShiViz
  kvraft server --id 1 ... --trace-log traces/member-1.log
  # a member whose disk was lost rejoins: it waits, non-voting, until re-added
  kvraft server --id 3 --data-dir d3 --initial-cluster-state existing --cluster-id <id> --peers ...
  # quorum lost for good (members 1 and 2 gone): member 3 becomes a new one-member cluster
  kvraft server --id 3 --data-dir d3 --recover-from-member 3 --cluster-id "$(uuidgen)" --peers 3=127.0.0.1:7003

Exit status: 0 after a clean shutdown (SIGTERM or SIGINT: a leader hands leadership to
the most up-to-date follower first); 1 when the server failed (a storage failure, a
port taken, a data dir of another cluster); 2 for bad flags.`)
    .action(loadOnRun(async () => (await import("./server-run.js")).runServerCommand));
}

/**
 * A StatefulSet cannot give each pod its own --id, but each pod knows its name (the
 * downward API's POD_NAME): pod NAME-i is member i+1.
 */
export function memberIdFromPodName(podName: string | undefined): number {
  const match = podName === undefined ? null : /-(\d+)$/.exec(podName);
  if (match === null) {
    throw new RangeError(`--id is required (or POD_NAME=NAME-i, as a StatefulSet pod has, for member i+1); POD_NAME is ${podName === undefined ? "not set" : `"${podName}"`}`);
  }
  return Number(match[1]) + 1;
}
