import { readFileSync } from "node:fs";
import { pino } from "pino";
import type { ServerConfig } from "../server/config.js";
import { EXPIRY_TICK_INTERVAL_MS_DEFAULT, parsePeers, validateServerConfig } from "../server/config.js";
import { startServer } from "../server/server.js";
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
  const adminToken = flags.adminTokenFile === undefined ? undefined : readFileSync(flags.adminTokenFile, "utf8").trim();
  return validateServerConfig({
    id, dataDir: flags.dataDir, peers,
    initialClusterState: flags.initialClusterState === "existing" ? "existing" : "new",
    clusterId: flags.clusterId, listenHost: flags.listenHost,
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
  });
}
