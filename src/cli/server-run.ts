import { pino } from "pino";
import type { ServerConfig } from "../server/config.js";
import { EXPIRY_TICK_INTERVAL_MS_DEFAULT, parsePeers, validateServerConfig } from "../server/config.js";
import { startServer } from "../server/server.js";
import { validateClientLimits } from "../server/client-limits.js";
import type { TlsFiles } from "../security/tls-material.js";
import { readSingleToken, TokenStore } from "../security/tokens.js";
import { reexecWithHeapLimit } from "./heap-limit.js";
import type { ServerFlags } from "./server-command.js";
import { memberIdFromPodName } from "./server-command.js";

/** Exit codes of `kvraft server`, documented in --help. */
const SERVER_EXIT = { clean: 0, failed: 1, usage: 2 } as const;

/** Runs one member until SIGTERM, SIGINT or a failure; returns the exit status. */
export async function runServerCommand(flags: ServerFlags): Promise<number> {
  const childStatus = await reexecWithHeapLimit(flags.memoryMib === undefined ? undefined : Number(flags.memoryMib));
  if (childStatus !== undefined) return childStatus;
  let config: ServerConfig;
  try {
    config = toConfig(flags, process.env["POD_NAME"]);
  } catch (error) {
    process.stderr.write(`kvraft server: ${(error as Error).message}\n`);
    return SERVER_EXIT.usage;
  }
  const log = pino({ level: flags.logLevel, base: { member: config.id } });
  let server;
  try {
    server = await startServer(config, log);
  } catch (error) {
    process.stderr.write(`kvraft server: ${(error as Error).message}\n`);
    return SERVER_EXIT.failed;
  }
  const onSignal = (signal: string): void => { void server.shutdown(`received ${signal}`); };
  process.once("SIGTERM", () => onSignal("SIGTERM"));
  process.once("SIGINT", () => onSignal("SIGINT"));
  const failure = await server.stopped;
  return failure === undefined ? SERVER_EXIT.clean : SERVER_EXIT.failed;
}

function toConfig(flags: ServerFlags, podName: string | undefined): ServerConfig {
  const int = (name: string, value: string): number => {
    const n = Number(value);
    if (!Number.isSafeInteger(n)) throw new RangeError(`--${name}: expected a whole number, got "${value}"`);
    return n;
  };
  const peers = parsePeers(flags.peers);
  const id = flags.id === undefined ? memberIdFromPodName(podName) : int("id", flags.id);
  const heartbeatMs = int("heartbeat-ms", flags.heartbeatMs);
  const electionMs = int("election-ms", flags.electionMs);
  const self = peers.get(id);
  const adminToken = flags.adminTokenFile === undefined ? undefined : readSingleToken(flags.adminTokenFile, "--admin-token-file");
  const clientTokens = flags.authTokenFile === undefined ? undefined : TokenStore.fromFile(flags.authTokenFile);
  const adminTokens = adminToken === undefined ? undefined : TokenStore.single(adminToken, { name: "admin-token-file", role: "admin" }, "--admin-token-file");
  const tokens = clientTokens !== undefined && adminTokens !== undefined ? clientTokens.merge(adminTokens) : clientTokens ?? adminTokens;
  return validateServerConfig({
    id, dataDir: flags.dataDir, peers,
    initialClusterState: flags.initialClusterState === "existing" ? "existing" : "new",
    clusterId: flags.clusterId, listenHost: flags.listenHost,
    ...(flags.recoverFromMember === undefined ? {} : { recoverFromMember: int("recover-from-member", flags.recoverFromMember) }),
    peerPort: flags.peerPort !== undefined ? int("peer-port", flags.peerPort) : self?.port ?? 7000,
    clientPort: int("client-port", flags.clientPort), httpPort: int("http-port", flags.httpPort), memcachedPort: int("memcached-port", flags.memcachedPort),
    adminPort: flags.adminPort === undefined ? undefined : int("admin-port", flags.adminPort),
    advertise: {
      ...(flags.advertisePeer === undefined ? {} : { peer: flags.advertisePeer }),
      ...(flags.advertiseClient === undefined ? {} : { client: flags.advertiseClient }),
      ...(flags.advertiseHttp === undefined ? {} : { http: flags.advertiseHttp }),
      ...(flags.advertiseMemcached === undefined ? {} : { memcached: flags.advertiseMemcached }),
      ...(flags.advertiseAdmin === undefined ? {} : { admin: flags.advertiseAdmin }),
    },
    coordinator: flags.coord,
    tickMs: heartbeatMs, heartbeatTicks: 1, electionTicks: Math.max(2, Math.round(electionMs / heartbeatMs)),
    adminToken, quotaBytes: int("quota-bytes", flags.quotaBytes), requestTimeoutMs: int("request-timeout-ms", flags.requestTimeoutMs),
    snapshotEveryEntries: int("snapshot-entries", flags.snapshotEntries), readyLagEntriesMax: int("ready-lag-entries", flags.readyLagEntries),
    pendingProposalsMax: 65536, shutdownTransferMs: int("shutdown-transfer-ms", flags.shutdownTransferMs),
    expiryTickIntervalMsMin: EXPIRY_TICK_INTERVAL_MS_DEFAULT,
    tls: {
      client: tlsFiles("", { cert: flags.certFile, key: flags.keyFile, ca: flags.trustedCaFile }, flags.clientCertAuth === true),
      peer: tlsFiles("peer-", { cert: flags.peerCertFile, key: flags.peerKeyFile, ca: flags.peerTrustedCaFile }, true),
    },
    tokens, memcachedFlushAll: flags.memcachedFlushAll === "disabled" ? "disabled" : "admin",
    clientLimits: validateClientLimits({
      connectionsMax: int("connections-max", flags.connectionsMax), connectionsPerAddressMax: int("connections-per-address-max", flags.connectionsPerAddressMax),
      idleTimeoutMs: int("client-idle-timeout-ms", flags.clientIdleTimeoutMs), handshakeTimeoutMs: int("client-handshake-timeout-ms", flags.clientHandshakeTimeoutMs),
      handshakeBytesMax: int("client-handshake-bytes-max", flags.clientHandshakeBytesMax),
      httpHeadersTimeoutMs: int("http-headers-timeout-ms", flags.httpHeadersTimeoutMs), httpRequestTimeoutMs: int("http-request-timeout-ms", flags.httpRequestTimeoutMs),
      httpKeepAliveTimeoutMs: int("http-keep-alive-timeout-ms", flags.httpKeepAliveTimeoutMs), httpHeaderBytesMax: int("http-header-bytes-max", flags.httpHeaderBytesMax),
    }),
    ...(flags.coordTokenFile === undefined ? {} : { coordinatorToken: readSingleToken(flags.coordTokenFile, "--coord-token-file") }),
    ...(flags.traceLog === undefined ? {} : { traceLog: flags.traceLog }),
  });
}

/** One port's TLS files from its flags (`--cert-file` or `--peer-cert-file`, ...): all or nothing. */
function tlsFiles(prefix: "" | "peer-", files: { cert?: string | undefined; key?: string | undefined; ca?: string | undefined }, clientCertAuth: boolean): TlsFiles | undefined {
  if (files.cert === undefined && files.key === undefined && files.ca === undefined) {
    if (prefix === "" && clientCertAuth) throw new RangeError("--client-cert-auth needs --cert-file, --key-file and --trusted-ca-file (client certificates are checked over TLS)");
    return undefined;
  }
  if (files.cert === undefined || files.key === undefined) throw new RangeError(`--${prefix}cert-file and --${prefix}key-file go together: give both`);
  if (files.ca === undefined && (prefix === "peer-" || clientCertAuth)) {
    throw new RangeError(`--${prefix}trusted-ca-file is required ${prefix === "peer-" ? "with --peer-cert-file: members prove who they are with certificates of the cluster's CA" : "with --client-cert-auth"}`);
  }
  return { certFile: files.cert, keyFile: files.key, trustedCaFile: files.ca, clientCertAuth };
}
