import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tls from "node:tls";
import { afterAll, describe, expect, it } from "vitest";
import { memberUri } from "../../src/security/member-identity.js";
import { issueCertificate, makeCertificateAuthority, type PemPair } from "../../src/security/pki.js";
import { TlsMaterial } from "../../src/security/tls-material.js";
import { MemberVerifier } from "../../src/server/auth/member-credential.js";

/**
 * Who counts as a member on a client port: a verified certificate signed by the peer CA
 * (any CA of the peer CA file: it holds two while the CA is rotated), naming this
 * cluster and a member of the configuration. The HTTPS port also trusts the client CA,
 * which must not be able to mint members.
 */
describe("MemberVerifier", () => {
  const dir = mkdtempSync(join(tmpdir(), "kvraft-member-credential-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const member = (ca: PemPair, memberId: number, clusterId = "c"): Promise<PemPair> =>
    issueCertificate(ca, { commonName: `member ${memberId}`, dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"], uris: [memberUri({ clusterId, memberId })], usage: "server-and-client", validDays: 1 });

  /** What the verifier says of a client presenting `client`, to a server trusting `trusted`. */
  async function seen(verifier: MemberVerifier, server: PemPair, trusted: string[], client: PemPair): Promise<number | undefined> {
    const listener = tls.createServer({ cert: server.certPem, key: server.keyPem, ca: trusted, requestCert: true, rejectUnauthorized: false });
    const result = new Promise<number | undefined>((resolve) => listener.once("secureConnection", (socket) => {
      resolve(verifier.memberOf(socket));
      socket.destroy();
    }));
    await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
    const socket = tls.connect({ host: "127.0.0.1", port: (listener.address() as { port: number }).port, ca: trusted, cert: client.certPem, key: client.keyPem });
    socket.on("error", () => undefined);
    try {
      return await result;
    } finally {
      socket.destroy();
      await new Promise<void>((resolve) => listener.close(() => resolve()));
    }
  }

  it("takes members of the configuration signed by any CA of the peer bundle, and nothing else", async () => {
    const oldCa = await makeCertificateAuthority("old peer CA", 1);
    const newCa = await makeCertificateAuthority("new peer CA", 1);
    const clientCa = await makeCertificateAuthority("client CA", 1);
    const files = { certFile: join(dir, "m1.crt"), keyFile: join(dir, "m1.key"), trustedCaFile: join(dir, "peer-ca.crt"), clientCertAuth: true };
    const self = await member(oldCa, 1);
    writeFileSync(files.certFile, self.certPem);
    writeFileSync(files.keyFile, self.keyPem);
    writeFileSync(files.trustedCaFile, oldCa.certPem + newCa.certPem);
    const material = TlsMaterial.load(files);
    const verifier = new MemberVerifier("c", (id) => id === 2 || id === 3, material);
    const trusted = [oldCa.certPem, newCa.certPem, clientCa.certPem];
    try {
      expect(await seen(verifier, self, trusted, await member(oldCa, 2))).toBe(2);
      expect(await seen(verifier, self, trusted, await member(newCa, 3))).toBe(3);
      // The client CA is trusted by the port, but a member certificate it signed is no member.
      expect(await seen(verifier, self, trusted, await member(clientCa, 2))).toBeUndefined();
      // Not in the configuration; another cluster.
      expect(await seen(verifier, self, trusted, await member(newCa, 9))).toBeUndefined();
      expect(await seen(verifier, self, trusted, await member(newCa, 2, "other"))).toBeUndefined();
      // Not verified by the handshake at all (a CA the port does not trust).
      const stranger = await makeCertificateAuthority("stranger", 1);
      expect(await seen(verifier, self, trusted, await member(stranger, 2))).toBeUndefined();
    } finally {
      material.close();
    }
  });
});
