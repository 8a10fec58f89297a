import * as net from "node:net";
import type * as tls from "node:tls";
import type { NodeId } from "../raft/types.js";
import { type MemberIdentity, memberIdentityOf, memberUri } from "../security/member-identity.js";

/**
 * Mutual TLS on the peer port. The transport does not load files: it takes anything that
 * hands out current options (`TlsMaterial` from `security/tls-material.ts` does, and
 * reloads rotated certificates). Each member's certificate names it by a URI SAN
 * `kvraft://member/ID?cluster=C`, and that URI, not a host name, is its identity: pods
 * are dialled by DNS names that say nothing about which member answers.
 */
export interface PeerTls {
  /** For `tls.createServer`: this member's certificate and key, and the cluster CA. */
  serverOptions(): tls.TlsOptions;
  /** For `tls.connect`: this member's certificate and key (it is a client too), and the CA. */
  clientOptions(): tls.ConnectionOptions;
  /** Gives `server` the new context whenever the certificate files change. */
  keepServerCurrent(server: tls.Server, onError: (error: Error) => void): void;
}

/** The member a verified peer certificate names, if it names exactly one member of `clusterId`. */
export function authenticatedMember(subjectAltName: string | undefined, clusterId: string): MemberIdentity | undefined {
  const identity = memberIdentityOf(subjectAltName);
  return identity !== undefined && identity.clusterId === clusterId ? identity : undefined;
}

/**
 * The `checkServerIdentity` of a dial to member `toId`: the server's certificate must
 * name that member of this cluster. Host names are not checked (the CA and the member
 * URI are what a member is trusted for), so a pod reached by any name or address works.
 */
export function expectMember(clusterId: string, toId: NodeId): (host: string, cert: tls.PeerCertificate) => Error | undefined {
  return (host, cert) => {
    const identity = memberIdentityOf(cert.subjectaltname);
    if (identity !== undefined && identity.clusterId === clusterId && identity.memberId === toId) return undefined;
    const named = identity === undefined ? "no single member" : memberUri(identity);
    return new Error(`the certificate of ${host} names ${named}, not ${memberUri({ clusterId, memberId: toId })}: the address reaches another member or cluster`);
  };
}

/** SNI only carries host names: Node refuses an IP address there. */
export function serverNameFor(host: string): string | undefined {
  return net.isIP(host) === 0 ? host : undefined;
}
