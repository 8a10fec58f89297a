import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tls from "node:tls";
import { afterEach, describe, expect, it } from "vitest";
import { certificateNotAfter, issueCertificate, makeCertificateAuthority, type PemPair } from "../../src/security/pki.js";
import { memberIdentityOf, memberUri, roleOf, roleUri, sanUris } from "../../src/security/member-identity.js";
import { TlsMaterial } from "../../src/security/tls-material.js";
import { bearerToken, readSingleToken, roleAllows, TokenStore } from "../../src/security/tokens.js";

interface Handshake { authorized: boolean; error?: string; san?: string }

/** Serves TLS with `server` (client certificates required) and dials it with `client`: what the server saw. */
async function handshake(server: PemPair & { ca: string }, client: Partial<PemPair> & { ca: string }): Promise<Handshake> {
  const listener = tls.createServer({ cert: server.certPem, key: server.keyPem, ca: server.ca, requestCert: true, rejectUnauthorized: false });
  const seen = new Promise<Handshake>((resolve) => listener.once("secureConnection", (socket) => {
    const peer = socket.getPeerCertificate();
    resolve({ authorized: socket.authorized, ...(socket.authorizationError === undefined ? {} : { error: String(socket.authorizationError) }), ...(peer.subjectaltname === undefined ? {} : { san: peer.subjectaltname }) });
    socket.end();
  }));
  await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
  const port = (listener.address() as { port: number }).port;
  const socket = tls.connect({ host: "127.0.0.1", port, ca: client.ca, ...(client.certPem === undefined ? {} : { cert: client.certPem, key: client.keyPem }), servername: "localhost" });
  socket.on("error", () => undefined);
  try {
    return await seen;
  } finally {
    socket.destroy();
    await new Promise<void>((resolve) => listener.close(() => resolve()));
  }
}

describe("certificates for a cluster", () => {
  it("a member certificate names its member and cluster, and only the cluster's CA vouches for it", async () => {
    const ca = await makeCertificateAuthority("kvraft test CA", 1);
    const stranger = await makeCertificateAuthority("another CA", 1);
    const uri = memberUri({ clusterId: "c-1,odd", memberId: 2 });
    const member = await issueCertificate(ca, { commonName: "member-2", dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"], uris: [uri], usage: "server-and-client", validDays: 1 });
    const forged = await issueCertificate(stranger, { commonName: "member-2", uris: [uri], usage: "server-and-client", validDays: 1 });
    const server = { ...member, ca: ca.certPem };

    const good = await handshake(server, { ...member, ca: ca.certPem });
    expect(good.authorized).toBe(true);
    expect(memberIdentityOf(good.san)).toEqual({ clusterId: "c-1,odd", memberId: 2 });

    const bad = await handshake(server, { ...forged, ca: ca.certPem });
    expect(bad.authorized).toBe(false);
    const none = await handshake(server, { ca: ca.certPem });
    expect(none.authorized).toBe(false);
    expect(certificateNotAfter(member.certPem).getTime()).toBeLessThanOrEqual(certificateNotAfter(ca.certPem).getTime());
  });

  it("reads identities only from well-formed URIs", () => {
    expect(sanUris("DNS:a, URI:kvraft://role/admin, IP Address:127.0.0.1")).toEqual(["kvraft://role/admin"]);
    expect(roleOf(`URI:${roleUri("read-only")}`)).toBe("read-only");
    expect(roleOf("URI:kvraft://role/root")).toBeUndefined();
    expect(memberIdentityOf("URI:kvraft://member/0?cluster=c")).toBeUndefined();
    expect(memberIdentityOf("URI:kvraft://member/1?cluster=c, URI:kvraft://member/2?cluster=c")).toBeUndefined();
    expect(memberIdentityOf(undefined)).toBeUndefined();
  });

  it("refuses a bad validity and a CA key that is not PKCS#8", async () => {
    await expect(makeCertificateAuthority("x", 0)).rejects.toThrow(/validDays/);
    const ca = await makeCertificateAuthority("x", 1);
    await expect(issueCertificate({ certPem: ca.certPem, keyPem: "nope" }, { commonName: "a", usage: "client", validDays: 1 })).rejects.toThrow(/PKCS#8/);
  });
});

describe("TLS files reloaded on change", () => {
  let dir: string | undefined;
  afterEach(() => { if (dir !== undefined) rmSync(dir, { recursive: true, force: true }); });

  it("loads, reports a broken change without dropping the old material, and picks up the next good one", async () => {
    dir = mkdtempSync(join(tmpdir(), "kvraft-tls-"));
    const ca = await makeCertificateAuthority("ca", 1);
    const first = await issueCertificate(ca, { commonName: "one", usage: "server", validDays: 1 });
    const second = await issueCertificate(ca, { commonName: "two", usage: "server", validDays: 1 });
    const files = { certFile: join(dir, "tls.crt"), keyFile: join(dir, "tls.key"), trustedCaFile: join(dir, "ca.crt"), clientCertAuth: true };
    writeFileSync(files.certFile, first.certPem);
    writeFileSync(files.keyFile, first.keyPem);
    writeFileSync(files.trustedCaFile, ca.certPem);
    const material = TlsMaterial.load(files);
    const changes: string[] = [];
    const errors: string[] = [];
    material.watch((pem) => changes.push(pem.cert), (error) => errors.push(error.message), 20);
    try {
      writeFileSync(files.certFile, second.certPem); // the key does not match yet
      await expect.poll(() => errors.length, { timeout: 5000 }).toBeGreaterThan(0);
      expect(errors[0]).toMatch(/do not load together/);
      expect(material.pem().cert).toBe(first.certPem);
      writeFileSync(files.keyFile, second.keyPem);
      await expect.poll(() => changes.length, { timeout: 5000 }).toBe(1);
      expect(material.pem().cert).toBe(second.certPem);
      expect(material.serverOptions()).toMatchObject({ requestCert: true, rejectUnauthorized: true });
    } finally {
      material.close();
    }
    expect(() => TlsMaterial.load({ ...files, certFile: `${files.certFile}.missing` })).toThrow(/cannot be read: ENOENT/);
  });
});

describe("tokens and roles", () => {
  const tokenA = "a".repeat(32);
  const tokenB = "b".repeat(32);

  it("parses a token file and looks tokens up by digest", () => {
    const store = TokenStore.parse(`# comment\n${tokenA},alice,read-only\n\n${tokenB},bob,admin\n`, "tokens.csv");
    expect(store.lookup(tokenA)).toEqual({ name: "alice", role: "read-only" });
    expect(store.lookup(tokenB)?.role).toBe("admin");
    expect(store.lookup("a".repeat(31))).toBeUndefined();
    expect(roleAllows("read-only", "write")).toBe(false);
    expect(roleAllows("read-write", "write")).toBe(true);
    expect(roleAllows("read-write", "admin")).toBe(false);
  });

  it("refuses empty, short, duplicate and unknown-role files, naming the line", () => {
    expect(() => TokenStore.parse("# nothing\n", "t.csv")).toThrow(/holds no token/);
    expect(() => TokenStore.parse("short,alice,admin", "t.csv")).toThrow(/t.csv:1: the token is shorter/);
    expect(() => TokenStore.parse(`${tokenA},a,admin\n${tokenA},b,admin`, "t.csv")).toThrow(/t.csv:2: this token appears twice/);
    expect(() => TokenStore.parse(`${tokenA},a,root`, "t.csv")).toThrow(/role "root"/);
    expect(() => TokenStore.parse(`${tokenA},a`, "t.csv")).toThrow(/3 fields/);
  });

  it("refuses an empty admin token file", () => {
    const dir = mkdtempSync(join(tmpdir(), "kvraft-token-"));
    try {
      writeFileSync(join(dir, "empty"), "\n");
      expect(() => readSingleToken(join(dir, "empty"), "--admin-token-file")).toThrow(/is empty/);
      writeFileSync(join(dir, "good"), `${tokenA}\n`);
      expect(readSingleToken(join(dir, "good"), "--admin-token-file")).toBe(tokenA);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("reads bearer tokens", () => {
    expect(bearerToken(`Bearer ${tokenA}`)).toBe(tokenA);
    expect(bearerToken("Basic abc")).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
  });
});
