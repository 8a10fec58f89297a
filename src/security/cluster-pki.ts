import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { NodeId } from "../raft/types.js";
import { type ClientRole, memberUri, roleUri } from "./member-identity.js";
import { issueCertificate, makeCertificateAuthority, type PemPair } from "./pki.js";
import type { TlsFiles } from "./tls-material.js";

/**
 * A cluster's certificates in one folder, as `kvraft local`, the tests and the
 * benchmarks lay them out:
 *
 *   ca.crt, ca.key                   the cluster's certificate authority
 *   member-<id>.crt, member-<id>.key each member: peer identity and serving certificate
 *   client-<role>.crt, .key          a client certificate per role
 *
 * Keys are written readable by the owner only.
 */
export interface ClusterPkiRequest {
  readonly clusterId: string;
  readonly memberIds: readonly NodeId[];
  /** Names and addresses the members serve on (every member gets all of them). */
  readonly dnsNames?: readonly string[];
  readonly ipAddresses?: readonly string[];
  readonly clientRoles?: readonly ClientRole[];
  readonly validDays: number;
}

export const CA_CERT_FILE = "ca.crt";
export const CA_KEY_FILE = "ca.key";

export function memberCertFiles(dir: string, memberId: NodeId): { certFile: string; keyFile: string } {
  return { certFile: join(dir, `member-${memberId}.crt`), keyFile: join(dir, `member-${memberId}.key`) };
}

export function clientCertFiles(dir: string, role: ClientRole): { certFile: string; keyFile: string } {
  return { certFile: join(dir, `client-${role}.crt`), keyFile: join(dir, `client-${role}.key`) };
}

/** A member's TLS files for the peer port (client certificates always required there). */
export function memberPeerTls(dir: string, memberId: NodeId): TlsFiles {
  return { ...memberCertFiles(dir, memberId), trustedCaFile: join(dir, CA_CERT_FILE), clientCertAuth: true };
}

/** A member's TLS files for its client ports; `clientCertAuth` asks clients for certificates. */
export function memberServingTls(dir: string, memberId: NodeId, clientCertAuth: boolean): TlsFiles {
  return { ...memberCertFiles(dir, memberId), trustedCaFile: join(dir, CA_CERT_FILE), clientCertAuth };
}

/** Makes the CA (or reuses the one in `dir`) and every member's and client's certificate. */
export async function writeClusterPki(dir: string, request: ClusterPkiRequest): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const ca = await loadOrMakeCa(dir, request.validDays);
  const serving = { dnsNames: request.dnsNames ?? ["localhost"], ipAddresses: request.ipAddresses ?? ["127.0.0.1"] };
  for (const memberId of request.memberIds) {
    const pair = await issueCertificate(ca, {
      commonName: `kvraft member ${memberId}`, ...serving,
      uris: [memberUri({ clusterId: request.clusterId, memberId })], usage: "server-and-client", validDays: request.validDays,
    });
    await writePair(memberCertFiles(dir, memberId), pair);
  }
  for (const role of request.clientRoles ?? []) {
    const pair = await issueCertificate(ca, { commonName: `kvraft client ${role}`, uris: [roleUri(role)], usage: "client", validDays: request.validDays });
    await writePair(clientCertFiles(dir, role), pair);
  }
}

async function loadOrMakeCa(dir: string, validDays: number): Promise<PemPair> {
  try {
    return { certPem: await readFile(join(dir, CA_CERT_FILE), "utf8"), keyPem: await readFile(join(dir, CA_KEY_FILE), "utf8") };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  const ca = await makeCertificateAuthority("kvraft cluster CA", validDays);
  await writePair({ certFile: join(dir, CA_CERT_FILE), keyFile: join(dir, CA_KEY_FILE) }, ca);
  return ca;
}

async function writePair(files: { certFile: string; keyFile: string }, pair: PemPair): Promise<void> {
  await writeFile(files.keyFile, pair.keyPem, { mode: 0o600 });
  await chmod(files.keyFile, 0o600);
  await writeFile(files.certFile, pair.certPem);
}
