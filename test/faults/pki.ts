import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { CA_CERT_FILE, CA_KEY_FILE, memberCertFiles, writeClusterPki } from "../../src/security/cluster-pki.js";
import { issueCertificate } from "../../src/security/pki.js";

/** Long enough for any run (a 3600 s run included), short enough to be obviously a test CA. */
const CERT_VALID_DAYS = 2;
/** The names every certificate serves besides the namespaces' addresses (a member's own loopback). */
const LOCAL_NAMES = { dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"] } as const;

export interface FaultClusterPki {
  readonly dir: string;
  readonly caFile: string;
  /** The cluster CA's certificate: what the workload's clients and the harness trust. */
  readonly caPem: string;
  /** The coordinator's HTTPS certificate and key. */
  readonly coordinator: { readonly certFile: string; readonly keyFile: string };
}

/**
 * One fault cluster's certificates, made fresh per run in `dir`: the cluster CA, a member
 * certificate per server (its identity URI names `clusterId`; it serves every address a
 * member listens on or advertises: the namespaces' addresses, plus localhost) and a
 * serving certificate for the coordinator at `hostAddress` on the bridge.
 */
export async function writeFaultClusterPki(dir: string, request: {
  readonly clusterId: string;
  readonly memberIds: readonly number[];
  readonly memberAddresses: readonly string[];
  readonly hostAddress: string;
}): Promise<FaultClusterPki> {
  await writeClusterPki(dir, {
    clusterId: request.clusterId, memberIds: request.memberIds, validDays: CERT_VALID_DAYS,
    dnsNames: LOCAL_NAMES.dnsNames, ipAddresses: [...request.memberAddresses, ...LOCAL_NAMES.ipAddresses],
  });
  const caPem = await readFile(join(dir, CA_CERT_FILE), "utf8");
  const ca = { certPem: caPem, keyPem: await readFile(join(dir, CA_KEY_FILE), "utf8") };
  const coordinatorPair = await issueCertificate(ca, {
    commonName: "kvraft fault-test coordinator", dnsNames: LOCAL_NAMES.dnsNames,
    ipAddresses: [request.hostAddress, ...LOCAL_NAMES.ipAddresses], usage: "server", validDays: CERT_VALID_DAYS,
  });
  const coordinator = { certFile: join(dir, "coordinator.crt"), keyFile: join(dir, "coordinator.key") };
  await writeFile(coordinator.keyFile, coordinatorPair.keyPem, { mode: 0o600 });
  await writeFile(coordinator.certFile, coordinatorPair.certPem);
  return { dir, caFile: join(dir, CA_CERT_FILE), caPem, coordinator };
}

/** A member's TLS flags: mutual TLS on the peer port, TLS (no client certificates) on the client ports. */
export function memberTlsArgs(pki: FaultClusterPki, memberId: number): string[] {
  // One member certificate for both ports, as writeClusterPki lays them out (memberPeerTls, memberServingTls).
  const { certFile, keyFile } = memberCertFiles(pki.dir, memberId);
  return [
    "--peer-cert-file", certFile, "--peer-key-file", keyFile, "--peer-trusted-ca-file", pki.caFile,
    "--cert-file", certFile, "--key-file", keyFile, "--trusted-ca-file", pki.caFile,
  ];
}

/** The coordinator's flags: HTTPS, and members report with their member certificates. */
export function coordinatorTlsArgs(pki: FaultClusterPki): string[] {
  return ["--cert-file", pki.coordinator.certFile, "--key-file", pki.coordinator.keyFile, "--trusted-ca-file", pki.caFile];
}
