import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningCoordinator } from "../../src/coord/index.js";
import { startCoordinator } from "../../src/coord/index.js";
import { CA_CERT_FILE, memberCertFiles, memberPeerTls, writeClusterPki } from "../../src/security/cluster-pki.js";
import { EXPIRY_TICK_INTERVAL_MS_DEFAULT, type ServerConfig } from "../../src/server/config.js";
import { type RunningServer, startServer } from "../../src/server/server.js";
import { freePorts } from "../support/ports.js";
import { waitFor } from "../support/wait.js";
import { CLUSTER } from "./fixtures.js";

const TOKEN = "the-coordinator-token-0123456789";

/** A real member reporting to a coordinator that wants credentials (issue 15): what kvraft server --coord does. */
describe("kvraft server's coordinator reporter proves membership", () => {
  let root: string;
  const servers: RunningServer[] = [];
  const coordinators: RunningCoordinator[] = [];
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "kvraft-coord-member-"));
    await writeClusterPki(join(root, "pki"), { clusterId: CLUSTER, memberIds: [1, 9], validDays: 1 });
  });
  afterAll(async () => {
    for (const server of servers) await server.shutdown("test over");
    for (const coordinator of coordinators) await coordinator.stop();
    await rm(root, { recursive: true, force: true });
  });

  const member = async (dir: string, coordinator: string, fields: Partial<ServerConfig>): Promise<RunningServer> => {
    const [peer, http, memcached, client] = await freePorts(4) as [number, number, number, number];
    const server = await startServer({
      id: 1, dataDir: join(root, dir), peers: new Map([[1, { host: "127.0.0.1", port: peer }]]),
      initialClusterState: "new", clusterId: CLUSTER, listenHost: "127.0.0.1",
      peerPort: peer, clientPort: client, httpPort: http, memcachedPort: memcached, adminPort: undefined, advertise: {}, coordinator,
      tickMs: 50, heartbeatTicks: 1, electionTicks: 10, adminToken: undefined,
      tls: { client: undefined, peer: undefined }, tokens: undefined, memcachedFlushAll: "admin",
      quotaBytes: 0, requestTimeoutMs: 2000, snapshotEveryEntries: 10_000, readyLagEntriesMax: 1000, pendingProposalsMax: 65536,
      shutdownTransferMs: 0, expiryTickIntervalMsMin: EXPIRY_TICK_INTERVAL_MS_DEFAULT,
      ...fields,
    }, pino({ level: "silent" }));
    servers.push(server);
    return server;
  };
  const leaderShown = (coordinator: RunningCoordinator) => async () => (coordinator.view()[0]?.leader?.id === 1 ? true : undefined);

  it("over HTTPS with its member certificate (--peer-cert-file) and the cluster CA", async () => {
    const pki = join(root, "pki");
    const coordinator = await startCoordinator({ host: "127.0.0.1", port: 0, tls: { ...memberCertFiles(pki, 9), trustedCaFile: join(pki, CA_CERT_FILE), clientCertAuth: false } });
    coordinators.push(coordinator);
    await member("cert", coordinator.url, { tls: { client: undefined, peer: memberPeerTls(pki, 1) } });
    await waitFor("the coordinator to name member 1 leader", leaderShown(coordinator), 15_000);
  }, 30_000);

  it("with --coord-token-file's token; without it the coordinator names no leader", async () => {
    const coordinator = await startCoordinator({ host: "127.0.0.1", port: 0, authToken: TOKEN });
    coordinators.push(coordinator);
    const refusals: string[] = [];
    const watcher = await startCoordinator({ host: "127.0.0.1", port: 0, authToken: TOKEN, onEvent: (event) => refusals.push(event.type) });
    coordinators.push(watcher);
    await member("token", coordinator.url, { coordinatorToken: TOKEN });
    await member("no-token", watcher.url, {});
    await waitFor("the coordinator to name member 1 leader", leaderShown(coordinator), 15_000);
    await waitFor("the member without the token to be refused", async () => (refusals.includes("unauthenticated") ? true : undefined), 15_000);
    expect(watcher.view()).toEqual([]);
  }, 30_000);
});
