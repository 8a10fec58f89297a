import { createServer, type Server } from "node:https";
import { afterEach, describe, expect, it } from "vitest";
import { defaultAdminTemplate } from "../../src/operator/controller/admin-endpoints.js";
import { AdminCallError, HttpAdminApi } from "../../src/operator/controller/admin-http.js";
import { readClusterTls } from "../../src/operator/controller/cluster-tls.js";
import type { TlsPems } from "../../src/operator/desired/index.js";
import { issueCertificate, type PemPair } from "../../src/security/pki.js";
import { EmptyRest, makeCluster } from "./fixtures.js";

/** A member's admin API as far as members() reads it, served over HTTPS with `pair`. */
async function serveAdmin(pair: PemPair, clusterId: string): Promise<{ server: Server; url: string }> {
  const server = createServer({ cert: pair.certPem, key: pair.keyPem }, (req, res) => {
    res.setHeader("content-type", "application/json");
    if (req.url === "/v1/admin/members") {
      res.end(JSON.stringify({ clusterId, voters: [1], learners: [], leaderId: 1 }));
      return;
    }
    res.end(JSON.stringify({
      memberId: 1, clusterId, role: "leader", membership: "voter", nonVoting: false, term: 3, leaderId: 1, commitIndex: 9, appliedIndex: 9, lastIndex: 9,
      members: [{ id: 1, membership: "voter", addresses: {}, matchIndex: 9, lag: 0, active: true, nonVoting: false }], alarms: [],
    }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, url: `https://127.0.0.1:${(server.address() as { port: number }).port}` };
}

describe("the operator's admin client over HTTPS", () => {
  const cluster = makeCluster();
  const clusterId = cluster.metadata.uid as string;
  const servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  });
  const tls = (): Promise<TlsPems> => readClusterTls(cluster, new EmptyRest(), { memberCount: 3 }).then((t) => t.pems);
  const admin = (url: string, caPem: string): HttpAdminApi => new HttpAdminApi({ baseUrls: [url], token: "t", clusterId, deadlineMs: 3_000, caPem });

  it("trusts a member whose certificate the cluster's CA signed for a member of this cluster", async () => {
    const pems = await tls();
    const { server, url } = await serveAdmin(pems.members["kv-0"] as PemPair, clusterId);
    servers.push(server);
    const view = await admin(url, pems.caBundlePem).members();
    expect(view).toMatchObject({ leaderId: 1, term: 3, commitIndex: 9 });
  });

  it("refuses a certificate of the same CA that names no member (the coordinator's), though its IP SAN matches the address", async () => {
    const pems = await tls();
    const { server, url } = await serveAdmin(pems.coordinator, clusterId);
    servers.push(server);
    const call = admin(url, pems.caBundlePem).members();
    await expect(call).rejects.toBeInstanceOf(AdminCallError);
    await expect(call).rejects.toThrow(/names no KVRaft member/);
  });

  it("refuses a member certificate of another cluster, even signed by this CA", async () => {
    const pems = await tls();
    const stray = await issueCertificate(pems.ca, { commonName: "stray", ipAddresses: ["127.0.0.1"], uris: ["kvraft://member/1?cluster=another-cluster"], usage: "server-and-client", validDays: 30 });
    const { server, url } = await serveAdmin(stray, clusterId);
    servers.push(server);
    await expect(admin(url, pems.caBundlePem).members()).rejects.toThrow(/of cluster another-cluster, not of/);
  });

  it("refuses a member certificate of another CA", async () => {
    const pems = await tls();
    const other = await readClusterTls(cluster, new EmptyRest(), { memberCount: 1 });
    const { server, url } = await serveAdmin(other.pems.members["kv-0"] as PemPair, clusterId);
    servers.push(server);
    await expect(admin(url, pems.caBundlePem).members()).rejects.toThrow(/self[- ]signed|unable to verify|UNABLE_TO_VERIFY|unable to get/i);
  });

  it("reaches members at https:// by default when the cluster serves TLS", () => {
    expect(defaultAdminTemplate("kv", "cluster.local", true)).toBe("https://{pod}.kv-peer.{namespace}.svc.cluster.local:8081");
    expect(defaultAdminTemplate("kv", "cluster.local", false)).toBe("http://{pod}.kv-peer.{namespace}.svc.cluster.local:8081");
  });
});
