import { X509Certificate } from "node:crypto";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readClusterFile, writeClusterFile, clusterFileOf } from "../../src/local/cluster-file.js";
import { prepareLocalSecurity } from "../../src/local/local-security.js";
import { planLocalCluster } from "../../src/local/plan.js";
import { localMemberCertFiles, localSecurityFiles } from "../../src/local/security-files.js";
import { CLIENT_TOKEN_BYTES_MAX } from "../../src/protocol/index.js";
import { CLIENT_TOKEN_CHARS_MAX } from "../../src/security/client-credentials.js";
import { CA_CERT_FILE, memberCertFiles } from "../../src/security/cluster-pki.js";
import { memberIdentityOf } from "../../src/security/member-identity.js";
import { TlsMaterial } from "../../src/security/tls-material.js";
import { TokenStore } from "../../src/security/tokens.js";

const snapshot = async (files: readonly string[]): Promise<string[]> => Promise.all(files.map((f) => readFile(f, "utf8")));

/** kvraft local's CA, certificates and tokens: made at the first start, kept on the next. */
describe("kvraft local: secure by default", () => {
  let dir: string;
  beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), "kvraft-local-sec-")); });
  afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

  const files = (): ReturnType<typeof localSecurityFiles> => localSecurityFiles(join(dir, ".kvraft"));
  const everyFile = (): string[] => {
    const f = files();
    return [f.caFile, f.caKeyFile, f.coordinatorCertFile, f.coordinatorKeyFile, f.tokensFile, f.adminTokenFile, f.readWriteTokenFile, f.readOnlyTokenFile,
      ...[1, 2, 3].flatMap((id) => Object.values(localMemberCertFiles(f, id)))];
  };

  it("the paths are the ones writeClusterPki writes, with the CA at the top of the cluster dir", () => {
    const f = files();
    expect(f.caFile).toBe(join(dir, ".kvraft", CA_CERT_FILE));
    expect(localMemberCertFiles(f, 2)).toEqual(memberCertFiles(f.dir, 2));
    expect(CLIENT_TOKEN_CHARS_MAX).toBe(CLIENT_TOKEN_BYTES_MAX);
  });

  it("the first start makes a CA, a certificate per member for localhost and 127.0.0.1, and three tokens, keys and tokens 0600", async () => {
    const f = files();
    const { made } = await prepareLocalSecurity(f, { clusterId: "c-1", memberIds: [1, 2, 3] });
    expect(made.join("; ")).toMatch(/a CA .*member certificates .*the coordinator's certificate .*tokens/);
    const coordinator = new X509Certificate(await readFile(f.coordinatorCertFile));
    expect(coordinator.checkIP("127.0.0.1")).toBe("127.0.0.1");
    for (const secret of [f.coordinatorKeyFile, f.caKeyFile, f.tokensFile, f.adminTokenFile, f.readWriteTokenFile, f.readOnlyTokenFile, localMemberCertFiles(f, 1).keyFile]) {
      expect(((await stat(secret)).mode & 0o777).toString(8), secret).toBe("600");
    }
    const ca = new X509Certificate(await readFile(f.caFile));
    const member = new X509Certificate(await readFile(localMemberCertFiles(f, 2).certFile));
    expect(member.verify(ca.publicKey)).toBe(true);
    expect(coordinator.verify(ca.publicKey)).toBe(true);
    expect(member.checkIP("127.0.0.1")).toBe("127.0.0.1");
    expect(member.checkHost("localhost")).toBe("localhost");
    expect(memberIdentityOf(member.subjectAltName)).toEqual({ clusterId: "c-1", memberId: 2 });
    // The files load as a member's TLS material and token store would load them.
    TlsMaterial.load({ ...localMemberCertFiles(f, 2), trustedCaFile: f.caFile, clientCertAuth: true });
    const store = TokenStore.fromFile(f.tokensFile);
    const token = async (file: string): Promise<string> => (await readFile(file, "utf8")).trim();
    expect(await token(f.adminTokenFile)).toMatch(/^[0-9a-f]{64}$/);
    expect(store.lookup(await token(f.adminTokenFile))?.role).toBe("admin");
    expect(store.lookup(await token(f.readWriteTokenFile))?.role).toBe("read-write");
    expect(store.lookup(await token(f.readOnlyTokenFile))?.role).toBe("read-only");
    expect(new Set([await token(f.adminTokenFile), await token(f.readWriteTokenFile), await token(f.readOnlyTokenFile)]).size).toBe(3);
  });

  it("a restart reuses every file unchanged: the same CA, certificates and tokens", async () => {
    const before = await snapshot(everyFile());
    const { made } = await prepareLocalSecurity(files(), { clusterId: "c-1", memberIds: [1, 2, 3] });
    expect(made).toEqual([]);
    expect(await snapshot(everyFile())).toEqual(before);
  });

  it("a lost member certificate, or one of another cluster, is issued again from the same CA; tokens stay", async () => {
    const f = files();
    const ca = await readFile(f.caFile, "utf8");
    const tokens = await readFile(f.tokensFile, "utf8");
    await rm(localMemberCertFiles(f, 3).keyFile);
    expect((await prepareLocalSecurity(f, { clusterId: "c-1", memberIds: [1, 2, 3] })).made.join()).toContain("3: missing");
    expect((await prepareLocalSecurity(f, { clusterId: "c-2", memberIds: [1, 2, 3] })).made.join()).toContain("of another cluster or member");
    const member = new X509Certificate(await readFile(localMemberCertFiles(f, 1).certFile));
    expect(memberIdentityOf(member.subjectAltName)?.clusterId).toBe("c-2");
    expect(member.verify(new X509Certificate(ca).publicKey)).toBe(true);
    expect(await readFile(f.caFile, "utf8")).toBe(ca);
    expect(await readFile(f.tokensFile, "utf8")).toBe(tokens);
  });

  it("a token file emptied by hand gets a new token, and tokens.csv follows", async () => {
    const f = files();
    await writeFile(f.readOnlyTokenFile, "");
    await prepareLocalSecurity(f, { clusterId: "c-2", memberIds: [1, 2, 3] });
    const token = (await readFile(f.readOnlyTokenFile, "utf8")).trim();
    expect(token).toMatch(/^[0-9a-f]{64}$/);
    expect(TokenStore.fromFile(f.tokensFile).lookup(token)?.role).toBe("read-only");
  });

  it("cluster.json names the CA and the token files, so the CLI finds them", async () => {
    const plan = planLocalCluster({ clusterDir: join(dir, ".kvraft"), clusterId: "c-2", servers: 3, basePort: 7000 });
    await writeClusterFile(plan.clusterDir, clusterFileOf(plan));
    const written = await readClusterFile(plan.clusterDir);
    expect(written?.security).toEqual({
      scheme: "https", caFile: files().caFile, tokenFile: files().readWriteTokenFile, adminTokenFile: files().adminTokenFile, readOnlyTokenFile: files().readOnlyTokenFile,
    });
    const plain = planLocalCluster({ clusterDir: join(dir, "plain"), clusterId: "c-3", servers: 3, basePort: 7000, tls: false });
    expect(clusterFileOf(plain).security).toBeUndefined();
  });
});
