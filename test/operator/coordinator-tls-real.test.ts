import { execFile } from "node:child_process";
import { request } from "node:https";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningCoordinator } from "../../src/coord/index.js";
import { startCoordinator } from "../../src/coord/index.js";
import { readClusterTls } from "../../src/operator/controller/cluster-tls.js";
import { desiredObjects, type TlsPems } from "../../src/operator/desired/index.js";
import { EXPIRY_TICK_INTERVAL_MS_DEFAULT } from "../../src/server/config.js";
import { type RunningServer, startServer } from "../../src/server/server.js";
import { freePorts } from "../support/ports.js";
import { waitFor } from "../support/wait.js";
import { EmptyRest, findObject, makeCluster, OPTIONS } from "./fixtures.js";

// The coordinator and a member as the operator's pods run them: the coordinator with the
// files of the NAME-tls-coord Secret (tls.crt, tls.key, ca.crt), the member with its own
// certificate from NAME-tls-members, reporting over https://. All certificates are the
// ones the operator's step makes.

const cluster = makeCluster({ monitoring: { podMonitor: true } });
const CLUSTER_ID = cluster.metadata.uid as string;

/** GET over HTTPS trusting only `ca`, checking the certificate against `servername` (the Service's name). */
function getJson(url: string, ca: string, servername: string): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: "GET", ca, servername, timeout: 3_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown }));
    });
    req.on("timeout", () => req.destroy(new Error(`GET ${url}: no answer in 3 s`)));
    req.on("error", reject);
    req.end();
  });
}

describe("the coordinator with the operator's certificates", () => {
  let dir: string;
  let pems: TlsPems;
  let coordinator: RunningCoordinator | undefined;
  let server: RunningServer | undefined;
  beforeAll(async () => {
    ({ pems } = await readClusterTls(cluster, new EmptyRest(), { memberCount: 1 }));
    dir = await mkdtemp(join(tmpdir(), "kvraft-operator-coord-tls-"));
    await writeFile(join(dir, "ca.crt"), pems.caBundlePem);
    await writeFile(join(dir, "tls.crt"), pems.coordinator.certPem);
    await writeFile(join(dir, "tls.key"), pems.coordinator.keyPem, { mode: 0o600 });
    const member = pems.members["kv-0"];
    if (member === undefined) throw new Error("the step made no certificate for kv-0");
    await writeFile(join(dir, "kv-0.crt"), member.certPem);
    await writeFile(join(dir, "kv-0.key"), member.keyPem, { mode: 0o600 });
  });
  afterAll(async () => {
    await server?.shutdown("test over");
    await coordinator?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("takes the member's report over HTTPS with its member certificate, and serves the view to a reader who has only the CA", async () => {
    coordinator = await startCoordinator({
      host: "127.0.0.1", port: 0,
      tls: { certFile: join(dir, "tls.crt"), keyFile: join(dir, "tls.key"), trustedCaFile: join(dir, "ca.crt"), clientCertAuth: false },
    });
    expect(coordinator.url).toMatch(/^https:/);
    const [peer, http, memcached, client] = await freePorts(4) as [number, number, number, number];
    const peerTls = { certFile: join(dir, "kv-0.crt"), keyFile: join(dir, "kv-0.key"), trustedCaFile: join(dir, "ca.crt"), clientCertAuth: true };
    server = await startServer({
      id: 1, dataDir: join(dir, "data"), peers: new Map([[1, { host: "127.0.0.1", port: peer }]]),
      initialClusterState: "new", clusterId: CLUSTER_ID, listenHost: "127.0.0.1",
      peerPort: peer, clientPort: client, httpPort: http, memcachedPort: memcached, adminPort: undefined, advertise: {},
      // As in the pod: the Service's name (which the coordinator's certificate carries), here resolved to loopback.
      coordinator: coordinator.url.replace("127.0.0.1", "localhost"),
      tickMs: 50, heartbeatTicks: 1, electionTicks: 10, adminToken: undefined,
      tls: { client: undefined, peer: peerTls }, tokens: undefined, memcachedFlushAll: "admin",
      quotaBytes: 0, requestTimeoutMs: 2000, snapshotEveryEntries: 10_000, readyLagEntriesMax: 1000, pendingProposalsMax: 65536,
      shutdownTransferMs: 0, expiryTickIntervalMsMin: EXPIRY_TICK_INTERVAL_MS_DEFAULT,
    }, pino({ level: "silent" }));
    const running = coordinator;
    await waitFor("the coordinator to name member 1 leader", async () => (running.view()[0]?.leader?.id === 1 ? true : undefined), 15_000);

    // A client with the CA alone (the ConfigMap NAME-ca), checking the coordinator Service's name.
    const view = await getJson(`${running.url}/v1/cluster?clusterId=${CLUSTER_ID}`, pems.caBundlePem, "kv-coord.db.svc.cluster.local");
    expect(view.status).toBe(200);
    expect((view.body as { leader: { id: number } | null }).leader?.id).toBe(1);
    await expect(getJson(`${running.url}/v1/cluster`, pems.caBundlePem, "kv-client.db.svc")).rejects.toThrow(/altnames|Hostname/i);
  }, 30_000);

  it("serves /metrics to Prometheus as the coordinator's PodMonitor tells it to scrape: HTTPS, the CA bundle, the Service's name, no client certificate (curl)", async () => {
    const scraped = await startCoordinator({
      host: "127.0.0.1", port: 0,
      tls: { certFile: join(dir, "tls.crt"), keyFile: join(dir, "tls.key"), trustedCaFile: join(dir, "ca.crt"), clientCertAuth: false },
    });
    try {
      const monitor = findObject(desiredObjects(cluster, { ...OPTIONS, tls: pems, podMonitorAvailable: true }), "PodMonitor", "kv-coord");
      const endpoint = (monitor as unknown as { spec: { podMetricsEndpoints: { scheme: string; path: string; tlsConfig: { serverName: string } }[] } }).spec.podMetricsEndpoints[0];
      if (endpoint === undefined) throw new Error("the coordinator's PodMonitor has no endpoint");
      const port = new URL(scraped.url).port;
      // The Service's name resolved to loopback by curl itself: nothing is looked up, nothing leaves the machine.
      const url = `${endpoint.scheme}://${endpoint.tlsConfig.serverName}:${port}${endpoint.path}`;
      const { stdout } = await promisify(execFile)("curl", ["-sS", "--fail", "--max-time", "5", "--cacert", join(dir, "ca.crt"), "--resolve", `${endpoint.tlsConfig.serverName}:${port}:127.0.0.1`, url]);
      expect(stdout).toMatch(/^# TYPE kvraft_coord_clusters gauge$/m);
    } finally {
      await scraped.stop();
    }
  }, 30_000);
});
