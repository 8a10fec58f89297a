import { X509Certificate } from "node:crypto";
import { describe, expect, it } from "vitest";
import { CA_PROPAGATION_MS, readClusterTls } from "../../src/operator/controller/cluster-tls.js";
import type { ClusterTls } from "../../src/operator/controller/cluster-tls.js";
import type { RequestOptions } from "../../src/operator/controller/kube-rest.js";
import { KubeApiError, KubeRest } from "../../src/operator/controller/kube-rest.js";
import { coordinatorServingNames, memberServingNames, tlsObjects } from "../../src/operator/desired/tls.js";
import type { TlsPems } from "../../src/operator/desired/index.js";
import { memberIdentityOf } from "../../src/security/member-identity.js";
import { issueCertificate, makeCertificateAuthority } from "../../src/security/pki.js";
import type { KubeObject, KVRaftCluster } from "../../src/operator/types.js";
import { makeCluster, OPTIONS, unreachableKubeConfig } from "./fixtures.js";

const DAY_MS = 24 * 60 * 60 * 1000;

/** The API server's Secrets, answered to GET by path; the step itself never writes. */
class SecretStore extends KubeRest {
  readonly stored = new Map<string, KubeObject>();
  readonly mutations: string[] = [];
  constructor() {
    super(unreachableKubeConfig());
  }
  override async request<T>(method: string, path: string, _options: RequestOptions = {}): Promise<T> {
    if (method !== "GET") {
      this.mutations.push(`${method} ${path}`);
      return {} as T;
    }
    const found = this.stored.get(path);
    if (found === undefined) throw new KubeApiError(404, "NotFound", `${path} not found`);
    return found as T;
  }
  /** What the reconciler would have applied from these certificates. */
  keep(cluster: KVRaftCluster, pems: TlsPems): void {
    for (const object of tlsObjects(cluster, { ...OPTIONS, tls: pems })) {
      if (object.kind === "Secret") this.stored.set(`/api/v1/namespaces/db/secrets/${object.metadata.name}`, object);
    }
  }
}

const cert = (pem: string): X509Certificate => new X509Certificate(pem);
const signedBy = (leafPem: string, caPem: string): boolean => cert(leafPem).verify(cert(caPem).publicKey);
const notAfter = (pem: string): number => Date.parse(cert(pem).validTo);
const bundleCerts = (bundle: string): string[] => (bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? []).map((pem) => cert(pem).fingerprint256);
const fingerprint = (pem: string): string => cert(pem).fingerprint256;

describe("the cluster's certificates (controller step)", () => {
  const cluster = makeCluster();
  const uid = cluster.metadata.uid as string;

  it("a new cluster gets a CA and a certificate per member naming that member of this cluster, and one for the coordinator", async () => {
    const rest = new SecretStore();
    const { pems, liveSecrets, renewals } = await readClusterTls(cluster, rest, { memberCount: 3 });
    expect(liveSecrets.size).toBe(0);
    expect(renewals, "first issues are no renewal").toEqual([]);
    expect(rest.mutations).toEqual([]);
    expect(pems.caBundlePem).toBe(pems.ca.certPem);
    expect(pems.previousCa).toBeUndefined();
    expect(Object.keys(pems.members)).toEqual(["kv-0", "kv-1", "kv-2"]);
    for (const [ordinal, pod] of ["kv-0", "kv-1", "kv-2"].entries()) {
      const member = pems.members[pod]?.certPem as string;
      expect(signedBy(member, pems.ca.certPem), pod).toBe(true);
      const san = cert(member).subjectAltName;
      expect(memberIdentityOf(san)).toEqual({ clusterId: uid, memberId: ordinal + 1 });
      expect(san).toContain(`DNS:${pod}.kv-peer.db.svc.cluster.local`);
      expect(san).toContain("DNS:kv-client.db.svc");
      expect(san).toContain("IP Address:127.0.0.1");
      expect(notAfter(member) - Date.now()).toBeGreaterThan(360 * DAY_MS);
    }
    expect(signedBy(pems.coordinator.certPem, pems.ca.certPem)).toBe(true);
    expect(memberIdentityOf(cert(pems.coordinator.certPem).subjectAltName)).toBeUndefined();
    expect(cert(pems.coordinator.certPem).subjectAltName).toContain("DNS:kv-coord.db.svc.cluster.local");
    // The CA outlives the certificates it signs (ten times, at most 3650 days).
    expect(notAfter(pems.ca.certPem) - Date.now()).toBeGreaterThan(3000 * DAY_MS);
  });

  it("keeps the CA and every certificate far from expiry across reconciles, and adds or drops members with the size", async () => {
    const rest = new SecretStore();
    const first = await readClusterTls(cluster, rest, { memberCount: 3 });
    rest.keep(cluster, first.pems);
    const again = await readClusterTls(cluster, rest, { memberCount: 3 });
    expect(again.liveSecrets.size).toBe(3);
    expect(again.pems).toEqual(first.pems);

    const grown = await readClusterTls(cluster, rest, { memberCount: 5 });
    expect(grown.pems.ca).toEqual(first.pems.ca);
    expect(grown.pems.members["kv-2"]).toEqual(first.pems.members["kv-2"]);
    expect(memberIdentityOf(cert(grown.pems.members["kv-4"]?.certPem as string).subjectAltName)).toEqual({ clusterId: uid, memberId: 5 });
    rest.keep(cluster, grown.pems);
    const shrunk = await readClusterTls(cluster, rest, { memberCount: 3 });
    expect(Object.keys(shrunk.pems.members)).toEqual(["kv-0", "kv-1", "kv-2"]);
  });

  it("reissues a certificate that expires within renewBeforeDays, and one that names another cluster; keeps the rest", async () => {
    const rest = new SecretStore();
    const first = await readClusterTls(cluster, rest, { memberCount: 3 });
    // Right in every way but the one tested.
    const nearExpiry = await issueCertificate(first.pems.ca, { commonName: "old", ...memberServingNames(cluster, 1), uris: [`kvraft://member/2?cluster=${uid}`], usage: "server-and-client", validDays: 10 });
    const otherCluster = await issueCertificate(first.pems.ca, { commonName: "stray", ...memberServingNames(cluster, 2), uris: ["kvraft://member/3?cluster=someone-else"], usage: "server-and-client", validDays: 365 });
    const farFromExpiry = await issueCertificate(first.pems.ca, { commonName: "fine", ...memberServingNames(cluster, 1), uris: [`kvraft://member/2?cluster=${uid}`], usage: "server-and-client", validDays: 40 });
    rest.keep(cluster, { ...first.pems, members: { ...first.pems.members, "kv-1": nearExpiry, "kv-2": otherCluster } });

    const { pems, renewals } = await readClusterTls(cluster, rest, { memberCount: 3 });
    expect(renewals).toEqual([expect.stringMatching(/^kv-1: expires within 30 days/), expect.stringMatching(/^kv-2: its names are not the member's/)]);
    expect(pems.ca).toEqual(first.pems.ca);
    expect(pems.members["kv-0"]).toEqual(first.pems.members["kv-0"]);
    expect(pems.members["kv-1"]).not.toEqual(nearExpiry);
    expect(notAfter(pems.members["kv-1"]?.certPem as string) - Date.now()).toBeGreaterThan(360 * DAY_MS);
    expect(memberIdentityOf(cert(pems.members["kv-2"]?.certPem as string).subjectAltName)).toEqual({ clusterId: uid, memberId: 3 });

    // 40 days left, renewed within 30: kept.
    rest.keep(cluster, { ...pems, members: { ...pems.members, "kv-1": farFromExpiry } });
    expect((await readClusterTls(cluster, rest, { memberCount: 3 })).pems.members["kv-1"]).toEqual(farFromExpiry);
  });

  it("reissues the certificates whose names changed (another cluster domain), keeping the CA", async () => {
    const rest = new SecretStore();
    const first = await readClusterTls(cluster, rest, { memberCount: 1 });
    rest.keep(cluster, first.pems);
    const moved = await readClusterTls(cluster, rest, { memberCount: 1, clusterDomain: "corp.example" });
    expect(moved.pems.ca).toEqual(first.pems.ca);
    expect(moved.pems.members["kv-0"]).not.toEqual(first.pems.members["kv-0"]);
    expect(cert(moved.pems.members["kv-0"]?.certPem as string).subjectAltName).toContain("DNS:kv-0.kv-peer.db.svc.corp.example");
    expect(moved.pems.coordinator).not.toEqual(first.pems.coordinator);
  });

  it("renews a CA near expiry in two phases: the bundle trusts both first, certificates move to the new CA after the propagation delay, the old CA leaves the bundle once expired", async () => {
    const rest = new SecretStore();
    const oldCa = await makeCertificateAuthority("old CA", 10);
    const members: Record<string, { certPem: string; keyPem: string }> = {};
    for (const [ordinal, pod] of ["kv-0", "kv-1", "kv-2"].entries()) {
      members[pod] = await issueCertificate(oldCa, {
        commonName: pod, ...memberServingNames(cluster, ordinal), uris: [`kvraft://member/${ordinal + 1}?cluster=${uid}`], usage: "server-and-client", validDays: 365,
      });
    }
    const coordinator = await issueCertificate(oldCa, { commonName: "coord", ...coordinatorServingNames(cluster), usage: "server", validDays: 365 });
    rest.keep(cluster, { ca: oldCa, caBundlePem: oldCa.certPem, members, coordinator });

    const now = Date.now();
    const rotated = await readClusterTls(cluster, rest, { memberCount: 3, now: new Date(now) });
    expect(rotated.renewals).toEqual([expect.stringMatching(/^CA: expires within 30 days \(the old CA stays trusted until it expires/)]);
    expect(rotated.pems.previousCa).toEqual(oldCa);
    expect(rotated.pems.ca).not.toEqual(oldCa);
    expect(rotated.pems.caRotatedAt).toBe(new Date(now).toISOString());
    expect(bundleCerts(rotated.pems.caBundlePem)).toEqual([fingerprint(rotated.pems.ca.certPem), fingerprint(oldCa.certPem)]);
    expect(rotated.pems.members, "the old CA's certificates stay until every pod trusts the new CA").toEqual(members);
    rest.keep(cluster, rotated.pems);

    const soon = await readClusterTls(cluster, rest, { memberCount: 3, now: new Date(now + CA_PROPAGATION_MS / 2) });
    expect(soon.pems).toEqual(rotated.pems);

    const later = await readClusterTls(cluster, rest, { memberCount: 3, now: new Date(now + CA_PROPAGATION_MS + 1000) });
    expect(later.pems.ca).toEqual(rotated.pems.ca);
    expect(later.renewals).toEqual(["kv-0", "kv-1", "kv-2", "coordinator"].map((what) => `${what}: not signed by the current CA`));
    for (const pod of ["kv-0", "kv-1", "kv-2"]) expect(signedBy(later.pems.members[pod]?.certPem as string, rotated.pems.ca.certPem), pod).toBe(true);
    expect(signedBy(later.pems.coordinator.certPem, rotated.pems.ca.certPem)).toBe(true);
    expect(bundleCerts(later.pems.caBundlePem)).toHaveLength(2);
    rest.keep(cluster, later.pems);

    const afterOldExpired = await readClusterTls(cluster, rest, { memberCount: 3, now: new Date(now + 11 * DAY_MS) });
    expect(afterOldExpired.pems.previousCa).toBeUndefined();
    expect(afterOldExpired.pems.caBundlePem).toBe(rotated.pems.ca.certPem);
    expect(afterOldExpired.pems.members).toEqual(later.pems.members);
  });

  it("does not reuse a Secret of the same name that another cluster (another uid) owns", async () => {
    const rest = new SecretStore();
    const other = makeCluster({}, undefined, "kv");
    const otherTls: ClusterTls = await readClusterTls({ ...other, metadata: { ...other.metadata, uid: "another-uid" } }, rest, { memberCount: 3 });
    rest.keep({ ...other, metadata: { ...other.metadata, uid: "another-uid" } }, otherTls.pems);
    const mine = await readClusterTls(cluster, rest, { memberCount: 3 });
    expect(mine.liveSecrets.size).toBe(0);
    expect(mine.pems.ca).not.toEqual(otherTls.pems.ca);
  });
});
