import { afterAll, describe, expect, it } from "vitest";
import { writeClusterPki } from "../../src/security/cluster-pki.js";
import { CLUSTER_ID, SecureCluster } from "../support/secure-cluster.js";
import { waitFor } from "../support/wait.js";

/**
 * Issue 15: certificate and key files are reloaded on change without a restart, on every
 * client port. The member's certificate is reissued in place; new connections to the
 * HTTPS, binary and memcached ports then get the new one.
 */
describe("client-port certificates reloaded on change", () => {
  let cluster: SecureCluster | undefined;
  afterAll(async () => {
    await cluster?.stop();
  });

  it("serves the reissued certificate on HTTPS, the binary and the memcached port without a restart", async () => {
    const c = (cluster = await SecureCluster.started(1, { tls: true }));
    const serials = async (): Promise<string[]> => {
      const tcp = await Promise.all((["client", "memcached"] as const).map(async (port) => {
        const socket = await c.dialTls(1, port);
        const serial = socket.getPeerCertificate().serialNumber;
        socket.destroy();
        return serial;
      }));
      const https = await new Promise<string>((resolve, reject) => {
        void c.dialTls(1, "http").then((socket) => {
          resolve(socket.getPeerCertificate().serialNumber);
          socket.destroy();
        }, reject);
      });
      return [...tcp, https];
    };
    const before = await serials();
    expect(new Set(before).size).toBe(1);
    await writeClusterPki(c.pkiDir, { clusterId: CLUSTER_ID, memberIds: [1], clientRoles: [], validDays: 1 });
    const after = await waitFor("every client port to serve the reissued certificate", async () => {
      const now = await serials();
      return now.every((serial) => serial !== before[0]) ? now : undefined;
    }, 10_000, 200);
    expect(new Set(after).size).toBe(1);
  }, 30_000);
});
