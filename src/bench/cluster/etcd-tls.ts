import { chmod, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { LOCAL_HOST } from "../../local/plan.js";
import type { LocalSecurityFiles } from "../../local/security-files.js";
import { issueCertificate, type PemPair } from "../../security/pki.js";

/**
 * The certificates of `kvraft bench cluster --tls`: one CA for both systems, so that
 * neither is measured with a cheaper chain. KVRaft's side is made exactly as `kvraft
 * local` makes its own (prepareLocalSecurity: CA, member certificates, tokens: see
 * KvraftSystem); etcd's members and its load's client certificate are issued here from
 * that same CA afterwards.
 */

/** A benchmark's certificates outlive it by far: it removes them when it ends. */
const BENCH_CERT_VALID_DAYS = 7;

/** etcd's side: one certificate per member for both its ports, and the load's client certificate. */
export interface EtcdTlsFiles {
  readonly caFile: string;
  /** Member i's (0-based) certificate: serverAuth and clientAuth, as etcd's peers dial each other with it. */
  readonly members: readonly { readonly certFile: string; readonly keyFile: string }[];
  /** The load generator's certificate: etcd runs with --client-cert-auth. */
  readonly client: { readonly certFile: string; readonly keyFile: string };
}

/** Issues etcd's certificates from the CA `kvraft` holds (made by KvraftSystem.create), into the same dir. */
export async function writeEtcdTls(kvraft: LocalSecurityFiles, etcdMembers: number): Promise<EtcdTlsFiles> {
  const ca: PemPair = { certPem: await readFile(kvraft.caFile, "utf8"), keyPem: await readFile(kvraft.caKeyFile, "utf8") };
  const serving = { dnsNames: ["localhost"], ipAddresses: [LOCAL_HOST], validDays: BENCH_CERT_VALID_DAYS };
  const members: { certFile: string; keyFile: string }[] = [];
  for (let i = 1; i <= etcdMembers; i++) {
    const files = etcdFiles(kvraft.dir, `etcd-member-${i}`);
    await writePair(files, await issueCertificate(ca, { commonName: `etcd-${i}`, ...serving, usage: "server-and-client" }));
    members.push(files);
  }
  const client = etcdFiles(kvraft.dir, "etcd-client");
  await writePair(client, await issueCertificate(ca, { commonName: "kvraft-bench", usage: "client", validDays: BENCH_CERT_VALID_DAYS }));
  return { caFile: kvraft.caFile, members, client };
}

function etcdFiles(dir: string, name: string): { certFile: string; keyFile: string } {
  return { certFile: join(dir, `${name}.crt`), keyFile: join(dir, `${name}.key`) };
}

async function writePair(files: { certFile: string; keyFile: string }, pair: PemPair): Promise<void> {
  await writeFile(files.keyFile, pair.keyPem, { mode: 0o600 });
  await chmod(files.keyFile, 0o600);
  await writeFile(files.certFile, pair.certPem);
}
