import { randomBytes, X509Certificate } from "node:crypto";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { writeClusterPki } from "../security/cluster-pki.js";
import { memberIdentityOf } from "../security/member-identity.js";
import { issueCertificate } from "../security/pki.js";
import { LOCAL_HOST } from "./plan.js";
import { LOCAL_TOKEN_CHARS, localMemberCertFiles, type LocalSecurityFiles } from "./security-files.js";

/**
 * Makes a local cluster secure by default: its CA and member certificates, and its
 * tokens, on the first start; kept on later starts, so that a restart trusts the same CA
 * and every token handed out keeps working. A member certificate that is missing, of
 * another cluster or member, or close to expiry is issued again from the same CA.
 */

/** A local cluster is for development: long-lived certificates, so that it never stops working one day. */
export const LOCAL_CERT_VALID_DAYS = 3650;
/** Member certificates this close to expiry are issued again at start. */
export const LOCAL_CERT_RENEW_DAYS = 30;
/** Random bytes per token (hex: LOCAL_TOKEN_CHARS characters). */
const LOCAL_TOKEN_BYTES = LOCAL_TOKEN_CHARS / 2;
const DAY_MS = 24 * 60 * 60 * 1000;

export interface PreparedSecurity {
  /** What was made on this start (empty when everything was reused), for the log. */
  readonly made: readonly string[];
}

export async function prepareLocalSecurity(files: LocalSecurityFiles, cluster: { clusterId: string; memberIds: readonly number[] }): Promise<PreparedSecurity> {
  await mkdir(files.dir, { recursive: true, mode: 0o700 });
  const made: string[] = [];
  const stale = await staleMembers(files, cluster);
  const hasCa = await exists(files.caFile);
  if (stale.length > 0) {
    // writeClusterPki keeps an existing CA and issues every member's certificate from it.
    await writeClusterPki(files.dir, {
      clusterId: cluster.clusterId, memberIds: [...cluster.memberIds],
      dnsNames: ["localhost"], ipAddresses: [LOCAL_HOST], validDays: LOCAL_CERT_VALID_DAYS,
    });
    if (!hasCa) made.push(`a CA (${files.caFile})`);
    made.push(`member certificates (${stale.map((s) => `${s.id}: ${s.why}`).join(", ")})`);
  }
  const coordinatorWhy = await staleness(files, files.coordinatorCertFile, files.coordinatorKeyFile);
  if (coordinatorWhy !== undefined) {
    const ca = { certPem: await readFile(files.caFile, "utf8"), keyPem: await readFile(files.caKeyFile, "utf8") };
    const pair = await issueCertificate(ca, { commonName: "kvraft local coordinator", dnsNames: ["localhost"], ipAddresses: [LOCAL_HOST], usage: "server", validDays: LOCAL_CERT_VALID_DAYS });
    await writeSecret(files.coordinatorKeyFile, pair.keyPem);
    await writeFile(files.coordinatorCertFile, pair.certPem);
    made.push(`the coordinator's certificate (${coordinatorWhy})`);
  }
  if (await makeTokens(files)) made.push(`tokens (${files.tokensFile}, ${files.adminTokenFile}, ${files.readWriteTokenFile}, ${files.readOnlyTokenFile})`);
  return { made };
}

/** Members whose certificate must be issued (again), with why. */
async function staleMembers(files: LocalSecurityFiles, cluster: { clusterId: string; memberIds: readonly number[] }): Promise<{ id: number; why: string }[]> {
  const stale: { id: number; why: string }[] = [];
  for (const id of cluster.memberIds) {
    const { certFile, keyFile } = localMemberCertFiles(files, id);
    const why = await staleness(files, certFile, keyFile, (cert) => {
      const identity = memberIdentityOf(cert.subjectAltName);
      return identity?.memberId === id && identity.clusterId === cluster.clusterId;
    });
    if (why !== undefined) stale.push({ id, why });
  }
  return stale;
}

/** Why a certificate must be issued (again), or undefined when it is fine to keep. */
async function staleness(files: LocalSecurityFiles, certFile: string, keyFile: string, names: (cert: X509Certificate) => boolean = () => true): Promise<string | undefined> {
  const pem = await readFile(certFile, "utf8").catch(() => undefined);
  if (pem === undefined || !(await exists(keyFile))) return "missing";
  const cert = new X509Certificate(pem);
  if (!names(cert)) return "of another cluster or member";
  const ca = await readFile(files.caFile, "utf8").catch(() => undefined);
  const caCert = ca === undefined ? undefined : new X509Certificate(ca);
  if (caCert === undefined || !cert.checkIssued(caCert) || !cert.verify(caCert.publicKey)) return "not signed by the CA in ca.crt";
  if (Date.parse(cert.validTo) - Date.now() < LOCAL_CERT_RENEW_DAYS * DAY_MS) return `expires ${cert.validTo}`;
  return undefined;
}

/** Writes the token files that are missing; answers whether it wrote any. */
async function makeTokens(files: LocalSecurityFiles): Promise<boolean> {
  const roles = [
    { file: files.adminTokenFile, name: "local-admin", role: "admin" },
    { file: files.readWriteTokenFile, name: "local-read-write", role: "read-write" },
    { file: files.readOnlyTokenFile, name: "local-read-only", role: "read-only" },
  ] as const;
  let wrote = false;
  const tokens: string[] = [];
  for (const { file } of roles) {
    let token = (await readFile(file, "utf8").catch(() => "")).trim();
    if (token === "") {
      token = randomBytes(LOCAL_TOKEN_BYTES).toString("hex");
      await writeSecret(file, `${token}\n`);
      wrote = true;
    }
    tokens.push(token);
  }
  const csv = [
    "# kvraft local's client tokens (--auth-token-file): token,name,role. Made at the first start;",
    "# each token is also alone in admin.token, read-write.token and read-only.token.",
    ...roles.map((r, i) => `${tokens[i] ?? ""},${r.name},${r.role}`),
    "",
  ].join("\n");
  if ((await readFile(files.tokensFile, "utf8").catch(() => undefined)) !== csv) {
    await writeSecret(files.tokensFile, csv);
    wrote = true;
  }
  return wrote;
}

/** Owner-only: `mode` applies only to a new file, and the umask may narrow it further, never widen. */
async function writeSecret(file: string, text: string): Promise<void> {
  await writeFile(file, text, { mode: 0o600 });
  await chmod(file, 0o600);
}

async function exists(file: string): Promise<boolean> {
  return readFile(file).then(() => true, () => false);
}
