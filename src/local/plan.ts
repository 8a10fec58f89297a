import { join } from "node:path";
import { COORDINATOR_HOST, memberHost } from "../trace/index.js";
import { coordinatorSecurityArgs, type LocalSecurityFiles, localSecurityFiles, memberSecurityArgs } from "./security-files.js";

/**
 * The layout of a local cluster, computed from a base port, a member count and a
 * cluster dir. Pure: the same inputs give the same ports, dirs and arguments, so a
 * second `kvraft local` finds everything where the first one left it.
 */

/** Odd sizes only: an even one tolerates no more failures than the odd one below it. */
export const SERVER_COUNTS = [3, 5, 7] as const;
export type ServerCount = (typeof SERVER_COUNTS)[number];

/**
 * Ports are base + offset (+ member id): the coordinator at base, member i's peer port
 * at base+10+i and so on, so a person can tell a port's role from its number.
 */
export const PORT_OFFSETS = { coordinator: 0, peer: 10, http: 20, memcached: 30, client: 40 } as const;
/** The highest offset used by the largest cluster: the range [base, base+SPAN] must be free. */
export const PORT_SPAN = PORT_OFFSETS.client + SERVER_COUNTS[SERVER_COUNTS.length - 1];
export const DEFAULT_BASE_PORT = 7000;
/** Below this, binding needs privileges; the flag refuses it with a clear message. */
const BASE_PORT_MIN = 1024;

/** Everything runs on loopback: a local cluster is for one machine. */
export const LOCAL_HOST = "127.0.0.1";

export interface MemberPlan {
  readonly id: number;
  readonly peerPort: number;
  readonly httpPort: number;
  readonly memcachedPort: number;
  readonly clientPort: number;
  readonly dataDir: string;
}

export interface LocalPlan {
  readonly clusterDir: string;
  readonly clusterId: string;
  readonly basePort: number;
  readonly coordinatorPort: number;
  readonly members: readonly MemberPlan[];
  /**
   * TLS on every member port and tokens (the CA, certificates and tokens under the
   * cluster dir); undefined: plain TCP and HTTP, no tokens (the benchmark, until it has --tls).
   */
  readonly security?: LocalSecurityFiles;
  /** Each process writes its trace log here (`--trace-dir`): member-ID.log, coordinator.log; undefined: no tracing. */
  readonly traceDir?: string;
}

export interface PlannedPort {
  readonly port: number;
  /** "coordinator", "member 2 http", ...: what the port-taken message names. */
  readonly role: string;
}

export function validateServerCount(servers: number): ServerCount {
  if (!(SERVER_COUNTS as readonly number[]).includes(servers)) {
    throw new RangeError(`--servers must be ${SERVER_COUNTS.join(", ")} (an odd number keeps a majority through failures), got ${servers}`);
  }
  return servers as ServerCount;
}

export function validateBasePort(basePort: number): number {
  if (!Number.isSafeInteger(basePort) || basePort < BASE_PORT_MIN || basePort + PORT_SPAN > 65535) {
    throw new RangeError(`--base-port must be ${BASE_PORT_MIN}..${65535 - PORT_SPAN} (the cluster uses ports base..base+${PORT_SPAN}), got ${basePort}`);
  }
  return basePort;
}

/** `tls` (default true): the members serve TLS and want tokens, with files under the cluster dir. */
export function planLocalCluster(input: { clusterDir: string; clusterId: string; servers: number; basePort: number; tls?: boolean; traceDir?: string }): LocalPlan {
  const servers = validateServerCount(input.servers);
  const base = validateBasePort(input.basePort);
  const members: MemberPlan[] = [];
  for (let id = 1; id <= servers; id++) {
    members.push({
      id,
      peerPort: base + PORT_OFFSETS.peer + id,
      httpPort: base + PORT_OFFSETS.http + id,
      memcachedPort: base + PORT_OFFSETS.memcached + id,
      clientPort: base + PORT_OFFSETS.client + id,
      dataDir: memberDataDir(input.clusterDir, id),
    });
  }
  return {
    clusterDir: input.clusterDir, clusterId: input.clusterId, basePort: base, coordinatorPort: base + PORT_OFFSETS.coordinator, members,
    ...(input.tls === false ? {} : { security: localSecurityFiles(input.clusterDir) }),
    ...(input.traceDir === undefined ? {} : { traceDir: input.traceDir }),
  };
}

/** The trace log of the process whose trace host is `host`, named after it so a merged file and its sources read alike. */
export function traceLogPath(traceDir: string, host: string): string {
  return join(traceDir, `${host}.log`);
}

function traceArgs(plan: LocalPlan, host: string): string[] {
  return plan.traceDir === undefined ? [] : ["--trace-log", traceLogPath(plan.traceDir, host)];
}

export function memberDataDir(clusterDir: string, id: number): string {
  return join(clusterDir, `member-${id}`);
}

export function plannedPorts(plan: LocalPlan): PlannedPort[] {
  return [
    { port: plan.coordinatorPort, role: "coordinator" },
    ...plan.members.flatMap((m) => [
      { port: m.peerPort, role: `member ${m.id} peer` },
      { port: m.httpPort, role: `member ${m.id} http` },
      { port: m.memcachedPort, role: `member ${m.id} memcached` },
      { port: m.clientPort, role: `member ${m.id} client` },
    ]),
  ];
}

/** https when the plan has TLS: the members then report to it with their member certificates. */
export function coordinatorUrl(plan: LocalPlan): string {
  return `${plan.security === undefined ? "http" : "https"}://${LOCAL_HOST}:${plan.coordinatorPort}`;
}

/** A member's HTTP API as a base URL: https when the plan has TLS. */
export function memberHttpUrl(plan: LocalPlan, member: MemberPlan): string {
  return `${plan.security === undefined ? "http" : "https"}://${LOCAL_HOST}:${member.httpPort}`;
}

/** How long the coordinator waits before calling a member unreachable: a few heartbeats. */
const LOCAL_UNREACHABLE_AFTER_MS = 3000;

export function coordinatorArgs(plan: LocalPlan): string[] {
  return [
    "coord", "--host", LOCAL_HOST, "--port", String(plan.coordinatorPort), "--unreachable-after-ms", String(LOCAL_UNREACHABLE_AFTER_MS), "--log-level", "info",
    ...(plan.security === undefined ? [] : coordinatorSecurityArgs(plan.security)),
    ...traceArgs(plan, COORDINATOR_HOST),
  ];
}

/**
 * A member's command line. The cluster flags (--initial-cluster-state, --cluster-id) are
 * passed on every start: a data dir that already holds the cluster ignores them. With
 * the plan's security, its certificate, the CA and the token files (security-files.ts).
 */
export function serverArgs(plan: LocalPlan, member: MemberPlan, initialClusterState: "new" | "existing"): string[] {
  const peers = plan.members.map((m) => `${m.id}=${LOCAL_HOST}:${m.peerPort}`).join(",");
  return [
    "server", "--id", String(member.id), "--data-dir", member.dataDir, "--peers", peers,
    "--listen-host", LOCAL_HOST, "--http-port", String(member.httpPort), "--memcached-port", String(member.memcachedPort),
    "--client-port", String(member.clientPort),
    "--initial-cluster-state", initialClusterState, "--cluster-id", plan.clusterId,
    "--coord", coordinatorUrl(plan), "--log-level", "info",
    ...(plan.security === undefined ? [] : memberSecurityArgs(plan.security, member.id)),
    ...traceArgs(plan, memberHost(member.id)),
  ];
}

/**
 * Whether a member starts as a founder ("new") or waits to be added ("existing").
 * A dir with data ignores the flag. An empty dir is a founder only while the cluster is
 * being founded (no member had data when `kvraft local` started) and only if this run
 * has not seen its data before. Otherwise its data was lost, and re-founding it could
 * let it vote without the entries it acknowledged: it waits, non-voting, to be added
 * back (`kvraft members add`), as a wiped pod would.
 */
export function initialClusterState(input: { hasData: boolean; everHadData: boolean; founding: boolean }): "new" | "existing" {
  if (input.hasData) return "new";
  if (input.everHadData) return "existing";
  return input.founding ? "new" : "existing";
}
