import { connect } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient, TlsVerificationError } from "../../src/index.js";
import { NetnsCluster, SERVER_PORTS } from "./cluster.js";
import { NetnsNetwork } from "./netns.js";

/** A refused handshake or request answers at once; this only bounds a hang. */
const PROBE_TIMEOUT_MS = 5000;

/**
 * The fault runs' cluster is secured by default (issue 15): without these checks the
 * harness could fall back to plain TCP unnoticed and the fault tests would stop testing
 * the secured cluster. Needs root, iproute2 and iptables, as faults.test.ts.
 */
describe("faults: the harness's cluster runs with TLS on every port", () => {
  const ids = [1, 2, 3];
  let network: NetnsNetwork | undefined;
  let cluster: NetnsCluster | undefined;
  const secured = (): NetnsCluster => {
    if (cluster === undefined) throw new Error("invariant: the cluster did not start");
    return cluster;
  };

  beforeAll(async () => {
    network = await NetnsNetwork.create(ids);
    cluster = await NetnsCluster.create(network, { serverIds: ids, plant: undefined });
    cluster.startCoordinator();
    for (const id of ids) cluster.start(id);
    const c = cluster;
    await c.waitForLeader(45_000).catch((error: unknown) => {
      throw new Error(`no leader: ${(error as Error).message}\n${c.describe()}`);
    });
  }, 60_000);

  afterAll(async () => {
    await cluster?.stop();
    await network?.destroy();
  });

  it("the peer port wants a member certificate", async () => {
    const c = secured();
    const outcome = await new Promise<string>((resolve) => {
      const socket = connect({ host: c.network.address(1), port: SERVER_PORTS.peer, ca: c.clientTls?.ca, timeout: PROBE_TIMEOUT_MS }, () => socket.write("HELLO?"));
      socket.on("error", (error) => resolve(error.message));
      socket.on("timeout", () => socket.destroy(new Error("no answer")));
      socket.on("data", () => resolve("the peer port answered a caller without a member certificate"));
      socket.on("close", () => resolve("closed without an alert"));
    });
    expect(outcome).toMatch(/certificate required/);
  });

  it("the HTTP port and the coordinator speak HTTPS only, with the cluster's CA", async () => {
    const c = secured();
    expect(c.http(1)).toMatch(/^https:/);
    expect(c.coordinatorUrl).toMatch(/^https:/);
    const plain = (url: string): Promise<unknown> => fetch(url.replace(/^https:/, "http:"), { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    await expect(plain(`${c.http(1)}/v1/status`)).rejects.toThrow();
    await expect(plain(`${c.coordinatorUrl}/v1/cluster`)).rejects.toThrow();
    expect((await c.status(1)).memberId).toBe(1);
  });

  it("a client with the CA and the token reads and writes over TLS; one without the CA is refused at the handshake", async () => {
    const c = secured();
    const endpoints = ids.map((id) => c.clientAddress(id));
    const trusted = createClient({ endpoints, coordinator: c.coordinatorUrl, token: c.adminToken, tls: c.clientTls ?? {}, deadlineMs: 20_000 });
    const stranger = createClient({ endpoints, token: c.adminToken, tls: {}, deadlineMs: PROBE_TIMEOUT_MS });
    try {
      await trusted.put("secured", "yes");
      expect((await trusted.get("secured"))?.text()).toBe("yes");
      await expect(stranger.get("secured")).rejects.toBeInstanceOf(TlsVerificationError);
    } finally {
      await Promise.all([trusted.close(), stranger.close()]);
    }
  }, 30_000);
});
