import { X509Certificate } from "node:crypto";
import type { Socket } from "node:net";
import { TLSSocket } from "node:tls";
import { memberIdentityOf } from "../../security/member-identity.js";
import type { TlsMaterial } from "../../security/tls-material.js";
import type { NodeId } from "../../raft/types.js";

/**
 * Recognises a member of this cluster on a client port (HTTPS): a follower that
 * forwards a request to the leader, or proxies an admin call, presents its member
 * certificate (the peer port's, `--peer-cert-file`). It counts only when the TLS
 * handshake verified it, the peer CA (`--peer-trusted-ca-file`) signed it (the client
 * port may trust another CA for clients, which must not be able to mint members), it
 * names this cluster, and the member is in the current configuration.
 */
export class MemberVerifier {
  /** The peer CA file's certificates (a bundle holds two while the CA is rotated), parsed once per change. */
  private caKeys: { readonly pem: string; readonly keys: readonly X509Certificate["publicKey"][] } | undefined;

  constructor(
    private readonly clusterId: string,
    private readonly isMember: (id: NodeId) => boolean,
    private readonly peerTls: TlsMaterial,
  ) {}

  /** The id of the member on the other end of `socket`, or undefined if it is not one. */
  memberOf(socket: Socket): NodeId | undefined {
    if (!(socket instanceof TLSSocket) || !socket.authorized) return undefined;
    const certificate = socket.getPeerCertificate();
    const identity = memberIdentityOf(certificate.subjectaltname);
    if (identity === undefined || identity.clusterId !== this.clusterId || !this.isMember(identity.memberId)) return undefined;
    return this.signedByPeerCa(certificate.raw) ? identity.memberId : undefined;
  }

  private signedByPeerCa(raw: Buffer | undefined): boolean {
    const ca = this.peerTls.pem().ca;
    if (raw === undefined || ca === undefined) return false;
    try {
      if (this.caKeys?.pem !== ca) this.caKeys = { pem: ca, keys: pemCertificates(ca).map((pem) => new X509Certificate(pem).publicKey) };
      const certificate = new X509Certificate(raw);
      // The member certificates of a cluster are issued by its CA directly (src/security/cluster-pki.ts).
      return this.caKeys.keys.some((key) => certificate.verify(key));
    } catch {
      return false;
    }
  }
}

/** The PEM certificate blocks of a CA file. */
function pemCertificates(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}
