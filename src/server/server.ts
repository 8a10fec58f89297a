import type { Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import { defaultRaftConfig } from "../raft/config.js";
import type { FileIo } from "../storage/index.js";
import { TcpTransport } from "../transport/index.js";
import type { ServerConfig } from "./config.js";
import { openMemberStorage } from "./member-storage.js";
import { logReplicaEvent } from "./replica-event-log.js";
import { BinaryForwarder } from "./forwarding.js";
import { FORWARDS_IN_FLIGHT_MAX_DEFAULT } from "./forward-limits.js";
import { FRAME_BYTES_MAX_DEFAULT } from "../protocol/index.js";
import { failureLogFields } from "./request-scope.js";
import { adminRoutes } from "./http/admin-routes.js";
import { buildAdminApp, buildHttpApp } from "./http/app.js";
import { proxyToLeader } from "./http/proxy.js";
import { registerServerMetrics } from "./server-metrics.js";
import { Replica } from "./replica.js";
import { DISK_FULL_RETRY_DEFAULTS } from "./disk-full-retry.js";
import { ReplicaMetrics } from "./replica-metrics.js";
import { ReplicaService } from "./replica-service.js";
import type { MemberAddresses, ServerStatus } from "../protocol/status.js";
import { buildStatus } from "./build-status.js";
import { VERSION } from "../version.js";
import { MemberDirectory } from "./member-directory.js";
import { PeerGate } from "./peer-gate.js";
import { MemcachedServer } from "./memcached/index.js";
import { attachClientPort } from "./client-port/attach.js";
import { ClientSecurity } from "./client-security.js";
import { startCoordReporter } from "./coord-reporter.js";
import { reporterCredentials } from "./coord-reporter-credentials.js";
import { httpLimitsOf, memcachedLimitsOf, validateClientLimits } from "./client-limits.js";
import { applyHttpLimits, type HttpLimits } from "./http/limits.js";
import { openProcessTrace } from "../trace-file.js";
import { memberHost, traceRaftSend, type Tracer } from "../trace/index.js";
import { ReplicaEvents } from "./replica-events.js";
import { transferLeadershipAway } from "./leadership-handoff.js";
import { recoverIfAsked } from "./recovery-start.js";

/** How often a member tells the coordinator its status (the coordinator's unreachable-after is a few of these). */
const COORD_HEARTBEAT_MS = 1000;
/** How often a timer notes that the event loop turned; /healthz reads the last time. */
const LOOP_PROBE_INTERVAL_MS = 100;
/** An event loop that has not turned for longer than this makes /healthz fail (a stuck member is restarted). */
const LOOP_STALL_MS_MAX = 5000;

export interface RunningServer {
  readonly clusterId: string;
  readonly addresses: MemberAddresses;
  readonly replica: Replica;
  /** This member's tracer (NO_TRACE without --trace-log); ReplicaService.tracer is the same one. */
  readonly tracer: Tracer;
  status(): ServerStatus;
  /** Transfers leadership away if leader, then closes everything. */
  shutdown(reason: string): Promise<void>;
  /** Resolves when the server stops by itself (a fatal storage error). */
  readonly stopped: Promise<Error | undefined>;
}

/** What a test may put in place of the real thing. */
export interface ServerSeams {
  /** The storage's file operations on its write paths (tests inject a full disk, a failing fsync). */
  readonly io?: FileIo;
}

/** Starts a member: storage, peer transport, Raft, HTTP (and the other protocols). */
export async function startServer(config: ServerConfig, log: Logger, seams: ServerSeams = {}): Promise<RunningServer> {
  await recoverIfAsked(config, log);
  const metrics = new ReplicaMetrics();
  const { clusterId, storage, startNonVoting } = await openMemberStorage(config, log, metrics, seams.io);

  const trace = await openProcessTrace(config.traceLog, memberHost(config.id), {
    onWriteError: (error) => log.error({ err: error }, `trace log ${config.traceLog ?? ""}: a write failed (${error.message}); events are dropped from now on, the member carries on`),
  });
  const tracer = trace.tracer;
  const directory = new MemberDirectory(config);
  const replicaRef: { current?: Replica } = {};
  // Who may talk on the peer port (mutual TLS, members only) and what is believed of what they say: peer-gate.ts.
  const peerGate = new PeerGate({ config, directory, log, raft: () => replicaRef.current });
  const transport = new TcpTransport({
    selfId: config.id, clusterId, listenHost: config.listenHost, listenPort: config.peerPort,
    ...peerGate.transportOptions(), advertise: () => directory.selfAdvertise(),
  }, peerGate.handlers());
  peerGate.attach(transport);
  const { port: peerPort } = await transport.start();

  const raftConfig = { ...defaultRaftConfig(config.id), heartbeatTicks: config.heartbeatTicks, electionTicks: config.electionTicks };
  const replicaEvents = new ReplicaEvents();
  const replica = await Replica.start({
    raft: raftConfig, storage,
    send: (m) => {
      if (m.type === "Snap") metrics.snapshotSends.inc();
      transport.send(m, traceRaftSend(tracer, m));
    },
    tickMs: config.tickMs, startNonVoting, tracer,
    snapshotEveryEntries: config.snapshotEveryEntries, pendingProposalsMax: config.pendingProposalsMax,
    appliedWaitersMax: config.appliedWaitersMax,
    requestTimeoutMs: config.requestTimeoutMs, expiryTickIntervalMsMin: config.expiryTickIntervalMsMin, metrics,
    diskFullRetry: { diskFullRetryMsMin: config.diskFullRetryMsMin ?? DISK_FULL_RETRY_DEFAULTS.diskFullRetryMsMin, diskFullRetryMsMax: config.diskFullRetryMsMax ?? DISK_FULL_RETRY_DEFAULTS.diskFullRetryMsMax },
    onEvent: (event) => {
      logReplicaEvent(event, log, metrics);
      replicaEvents.emit(event);
    },
  });
  replicaRef.current = replica;
  const live = replica;
  // TLS on the client ports, client tokens and roles, and this member's credential for forwarding: client-security.ts.
  const security = new ClientSecurity(config, clusterId, (id) => {
    const members = live.configuration();
    return members.voters.includes(id) || members.learners.includes(id);
  }, log);
  const forwarder = new BinaryForwarder({ leaderId: () => live.leaderId(), addresses: (id) => directory.addresses(id) }, {
    memberId: config.id, requestTimeoutMs: config.requestTimeoutMs, forwardsInFlightMax: config.forwardsInFlightMax ?? FORWARDS_IN_FLIGHT_MAX_DEFAULT,
    frameBytesMax: FRAME_BYTES_MAX_DEFAULT, tls: () => security.forwardingTls(), provesMember: security.forwardsAsMember, authRequired: security.auth.required, tracer,
  });
  const service = new ReplicaService(live, {
    quotaBytes: config.quotaBytes,
    forwarder,
    leaderHint: (id) => ({ leaderId: id, ...addressFields(directory.addresses(id)) }),
    tracer,
  });
  let lastLoopTurnMs = Date.now();
  const loopTimer = setInterval(() => { lastLoopTurnMs = Date.now(); }, LOOP_PROBE_INTERVAL_MS);
  const status = (): ServerStatus => buildStatus({
    memberId: config.id, clusterId, version: VERSION, raft: live.status(), appliedIndex: live.state().appliedIndex,
    advertised: directory.addresses(config.id), listen: listenAddresses(config, peerPort, httpPortOf()),
    directory: (id) => directory.addresses(id),
    alarms: [...(service.quotaExceeded() ? ["NOSPACE"] : []), ...(storage.status().diskFull || live.diskFullMessage() !== undefined ? ["DISK_FULL"] : [])],
  });
  // Followers proxy admin calls to the leader's admin address (its own port, if it has one).
  const admin = adminRoutes(live, {
    clusterId, authorize: security.http.admin(),
    proxyToLeader: (req, res) => {
      const leaderId = live.status().leader;
      const leader = directory.addresses(leaderId);
      return proxyToLeader(req, res, { leaderId, address: leader.admin ?? leader.http }, security.memberHttp, security.auth.required);
    },
  });
  // One request count and latency per protocol and operation, whichever port served it.
  const app = buildHttpApp({
    service, status, registry: metrics.registry, auth: security.http, log, tracer,
    health: () => {
      const stalledMs = Date.now() - lastLoopTurnMs;
      if (live.fatalError() !== undefined) return { ok: false, reason: `storage failed: ${live.fatalError()?.message}` };
      return stalledMs > LOOP_STALL_MS_MAX ? { ok: false, reason: `the event loop has not turned for ${stalledMs} ms` } : { ok: true };
    },
    readiness: () => {
      const diskFull = live.diskFullMessage();
      if (diskFull !== undefined) return { ok: false, reason: `disk full: ${diskFull}` };
      const raft = live.status();
      if (raft.leader === 0) return { ok: false, reason: "no leader known" };
      if (raft.nonVoting) return { ok: false, reason: "catching up after losing data (non-voting)" };
      const lag = raft.commit - live.state().appliedIndex;
      return lag > config.readyLagEntriesMax ? { ok: false, reason: `applied is ${lag} entries behind commit` } : { ok: true };
    },
    extraRoutes: config.adminPort === undefined ? [admin] : [],
    valueBytesMax: live.state().config.valueBytesMax,
    listLimitMax: live.state().config.listLimitMax,
    leaderHttpIfFollower: () => {
      const raft = live.status();
      return raft.role === "leader" || raft.leader === 0 ? undefined : directory.addresses(raft.leader).http;
    },
    onRequest: metrics.requests.observer("http"),
  });
  const limits = validateClientLimits(config.clientLimits);
  const httpLimits = { limits: httpLimitsOf(limits), onRefused: (remoteAddress: string | undefined, open: number) => log.warn({ remoteAddress, open }, `http: refused a connection from ${remoteAddress ?? "?"}: it has ${open} open (--connections-per-address-max)`) };
  const http = await listen(security.httpServer(app), config.listenHost, config.httpPort, "--http-port", httpLimits);
  const httpPortOf = (): number => (http.address() as AddressInfo).port;
  const adminServer = config.adminPort === undefined
    ? undefined
    : await listen(security.httpServer(buildAdminApp({ status, adminRoutes: admin, valueBytesMax: live.state().config.valueBytesMax, log })), config.listenHost, config.adminPort, "--admin-port", httpLimits);
  const adminPort = adminServer === undefined ? undefined : (adminServer.address() as AddressInfo).port;
  const memcached = new MemcachedServer(service, {
    host: config.listenHost, port: config.memcachedPort, valueBytesMax: live.state().config.valueBytesMax, requestTimeoutMs: config.requestTimeoutMs,
    ...memcachedLimitsOf(limits),
  }, (event) => {
    if (event.type === "internal-error") log.error(failureLogFields(event.error, event.requestId), "memcached: internal error");
    else log.warn({ event }, `memcached: ${event.type}`);
  }, { ...security.portSecurity(), flushAll: config.memcachedFlushAll, onRequest: metrics.requests.observer("memcached"), tracer });
  let memcachedPort: number;
  try {
    memcachedPort = (await memcached.start()).port;
  } catch (error) {
    throw new RangeError(`the memcached port ${config.listenHost}:${config.memcachedPort} could not be bound (${(error as Error).message}): pick another with --memcached-port`);
  }
  const clientPort = await attachClientPort(service, { ...config, clientLimits: limits }, log, {
    status: () => status(), tracer, onRequest: metrics.requests.observer("binary"), relay: forwarder,
    leadership: () => {
      const leaderId = live.leaderId();
      const client = leaderId === 0 ? undefined : directory.addresses(leaderId).client;
      return client === undefined ? { memberId: config.id, leaderId } : { memberId: config.id, leaderId, leaderClientAddress: client };
    },
  }, security.portSecurity());
  const host = advertiseHost(config);
  directory.setSelf({
    peer: `${host}:${peerPort}`, http: `${host}:${httpPortOf()}`, memcached: `${host}:${memcachedPort}`, client: `${host}:${clientPort.port}`,
    ...(adminPort === undefined ? {} : { admin: `${host}:${adminPort}` }),
  });
  registerServerMetrics(metrics, live, storage, transport, { quotaBytes: config.quotaBytes, exceeded: () => service.quotaExceeded() });
  peerGate.registerMetrics(metrics);
  // Let every known member hear this one's HELLO now (a new member must be reachable
  // before it is added; the others only dial when they have something to send).
  transport.announce();
  log.info({ clusterId, peer: peerPort, http: httpPortOf(), memcached: memcachedPort }, `member ${config.id} of cluster ${clusterId} serving: peer port ${peerPort}, http port ${httpPortOf()}, memcached port ${memcachedPort}, client port ${clientPort.port}${adminPort === undefined ? "" : `, admin port ${adminPort}`}`);

  // Discovery only: the reporter never throws after start and never blocks; an outage is logged once.
  const coordCredentials = config.coordinator === undefined ? undefined : reporterCredentials(config, (error) => log.error({ err: error }, `the member certificate changed but does not load (${error.message}): the coordinator reporter keeps the old one`));
  const reporter = config.coordinator === undefined ? undefined : startCoordReporter({
    coordinatorUrl: config.coordinator, intervalMs: COORD_HEARTBEAT_MS, clusterId, status, tracer,
    ...(coordCredentials === undefined ? {} : { credentials: coordCredentials.credentials }),
    onEvent: (event) => {
      if (event.type === "failed" && event.consecutiveFailures === 1) log.warn({ event }, `coordinator unreachable (${event.error}): the cluster works without it; retrying`);
      else if (event.type === "registered" || event.type === "recovered") log.info({ event }, `coordinator ${event.type}: ${config.coordinator ?? ""}`);
    },
  });

  let resolveStopped: (error: Error | undefined) => void = () => undefined;
  const stopped = new Promise<Error | undefined>((resolve) => { resolveStopped = resolve; });
  let closing: Promise<void> | undefined;
  const shutdown = (reason: string): Promise<void> => {
    closing ??= (async () => {
      log.info({ reason }, `shutting down: ${reason}`);
      // Watches first: they would wait on a replica that stops applying, and each open
      // stream holds the HTTP server's close (and the process) until it is killed.
      service.close();
      await transferLeadershipAway(live, replicaEvents, { waitMs: config.shutdownTransferMs, heartbeatTicks: config.heartbeatTicks, tickMs: config.tickMs }, log);
      reporter?.stop();
      coordCredentials?.close();
      clearInterval(loopTimer);
      await live.stop();
      await clientPort.stop();
      await memcached.stop();
      for (const server of adminServer === undefined ? [http] : [http, adminServer]) {
        await new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
      }
      await transport.stop();
      peerGate.close();
      security.close();
      await storage.close();
      const traced = await trace.close();
      if (traced !== undefined) log.info(traced, `trace log ${config.traceLog ?? ""}: ${traced.writtenEvents} events written, ${traced.droppedEvents} dropped`);
      resolveStopped(live.fatalError());
    })();
    return closing;
  };
  // A storage failure stops the member; one that came before this listener is caught by the look after it.
  replicaEvents.on("fatal", () => void shutdown("storage failure"));
  if (live.fatalError() !== undefined) void shutdown("storage failure");
  return { clusterId, addresses: directory.addresses(config.id), replica: live, tracer, status, shutdown, stopped };
}

function listen(server: HttpServer, host: string, port: number, flag: string, limits: { limits: HttpLimits; onRefused: (remoteAddress: string | undefined, open: number) => void }): Promise<HttpServer> {
  return new Promise((resolve, reject) => {
    server.listen(port, host);
    // In the turn of listen(): node reads the timeout checking interval on 'listening'.
    applyHttpLimits(server, limits.limits, limits.onRefused);
    server.once("listening", () => resolve(server));
    server.once("error", (error: NodeJS.ErrnoException) => {
      reject(error.code === "EADDRINUSE"
        ? new RangeError(`the port ${host}:${port} is taken: pick another with ${flag}`)
        : error);
    });
  });
}

function advertiseHost(config: ServerConfig): string {
  const self = config.peers.get(config.id);
  if (self !== undefined) return self.host;
  return config.listenHost === "0.0.0.0" || config.listenHost === "::" ? "127.0.0.1" : config.listenHost;
}

function listenAddresses(config: ServerConfig, peerPort: number, httpPort: number): MemberAddresses {
  return { peer: `${config.listenHost}:${peerPort}`, http: `${config.listenHost}:${httpPort}` };
}

function addressFields(addresses: MemberAddresses): { clientAddress?: string; httpAddress?: string } {
  return {
    ...(addresses.client === undefined ? {} : { clientAddress: addresses.client }),
    ...(addresses.http === undefined ? {} : { httpAddress: addresses.http }),
  };
}

