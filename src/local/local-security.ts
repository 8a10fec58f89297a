import { randomBytes, X509Certificate } from "node:crypto";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { writeClusterPki } from "../security/cluster-pki.js";
import { memberIdentityOf } from "../security/member-identity.js";
import { LOCAL_HOST } from "./plan.js";
import { localMemberCertFiles, type LocalSecurityFiles } from "./security-files.js";

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
/** Random bytes per token (hex: twice as many characters), as `openssl rand -hex 32`. */
export const LOCAL_TOKEN_BYTES = 32;
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
  if (await makeTokens(files)) made.push(`tokens (${files.tokensFile}, ${files.adminTokenFile}, ${files.readWriteTokenFile}, ${files.readOnlyTokenFile})`);
  return { made };
}

/** Members whose certificate must be issued (again), with why. */
async function staleMembers(files: LocalSecurityFiles, cluster: { clusterId: string; memberIds: readonly number[] }): Promise<{ id: number; why: string }[]> {
  const ca = await readFile(files.caFile, "utf8").catch(() => undefined);
  const caCert = ca === undefined ? undefined : new X509Certificate(ca);
  const stale: { id: number; why: string }[] = [];
  for (const id of cluster.memberIds) {
    const { certFile, keyFile } = localMemberCertFiles(files, id);
    const pem = await readFile(certFile, "utf8").catch(() => undefined);
    if (pem === undefined || !(await exists(keyFile))) {
      stale.push({ id, why: "missing" });
      continue;
    }
    const cert = new X509Certificate(pem);
    const identity = memberIdentityOf(cert.subjectAltName);
    if (identity === undefined || identity.memberId !== id || identity.clusterId !== cluster.clusterId) stale.push({ id, why: "of another cluster or member" });
    else if (caCert === undefined || !cert.checkIssued(caCert) || !cert.verify(caCert.publicKey)) stale.push({ id, why: "not signed by the CA in ca.crt" });
    else if (Date.parse(cert.validTo) - Date.now() < LOCAL_CERT_RENEW_DAYS * DAY_MS) stale.push({ id, why: `expires ${cert.validTo}` });
  }
  return stale;
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
