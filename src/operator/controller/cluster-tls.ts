import { createPrivateKey, X509Certificate } from "node:crypto";
import { memberUri } from "../../security/member-identity.js";
import { issueCertificate, makeCertificateAuthority, type PemPair } from "../../security/pki.js";
import { objectNames, type TlsPems } from "../desired/index.js";
import { TLS_KEYS, memberCertKeys } from "../desired/names.js";
import { DEFAULT_CLUSTER_DOMAIN } from "../desired/options.js";
import { clusterIdOf } from "../desired/meta.js";
import { tlsSettings } from "../desired/spec-defaults.js";
import { CA_ROTATED_AT_ANNOTATION, coordinatorServingNames, memberPods, memberServingNames, type ServingNames } from "../desired/tls.js";
import type { KVRaftCluster, KubeObject } from "../types.js";
import { memberIdOfOrdinal } from "../types.js";
import { SECRET_TYPE } from "./admin-token.js";
import type { KubeRest } from "./kube-rest.js";
import { isNotFound } from "./kube-rest.js";
import { objectPath } from "./resources.js";

const DAY_MS = 24 * 60 * 60 * 1000;
/**
 * The CA lives this many times a member certificate's lifetime (at most the longest any
 * certificate may): its rotation, the delicate one, is rare.
 */
const CA_LIFETIME_FACTOR = 10;
const CA_VALID_DAYS_MAX = 3650;
/**
 * After a CA rotation, certificates keep being issued by the previous CA this long: the
 * kubelet refreshes a mounted Secret within its sync period plus its cache's TTL (about
 * a minute each by default), and a member must trust the new CA (the bundle) before any
 * peer presents a certificate it signed.
 */
export const CA_PROPAGATION_MS = 5 * 60 * 1000;

export interface ClusterTlsRequest {
  /** Members (pods NAME-0 .. NAME-(count-1)) that need a certificate now. */
  readonly memberCount: number;
  readonly clusterDomain?: string;
  /** The clock (a test moves it). */
  readonly now?: Date;
}

export interface ClusterTls {
  /** What the desired Secrets and ConfigMap hold. */
  readonly pems: TlsPems;
  /** The TLS Secrets as the API server holds them now (by name; absent when missing). */
  readonly liveSecrets: ReadonlyMap<string, KubeObject>;
  /** What was replaced and why ("kv-1: expires within 30 days"), for an Event; first issues are not listed. */
  readonly renewals: readonly string[];
}

/**
 * The cluster's CA and certificates, like the admin token (admin-token.ts) read from the
 * Secrets the operator owns on every reconcile (it may not list or watch Secrets) and
 * made only where missing, wrong or near expiry:
 *
 * - the CA is made once; when it expires within renewBeforeDays a new one replaces it and
 *   the old one stays in the bundle (ca.crt) until it expires;
 * - certificates keep coming from the old CA for CA_PROPAGATION_MS after a rotation, so
 *   every pod trusts the new CA before any peer presents a certificate it signed; then
 *   each is reissued by the new CA;
 * - a member's certificate is reissued when it is missing, does not match its key, does
 *   not name the member of this cluster, or expires within renewBeforeDays.
 *
 * Nothing is written here: the reconciler applies the desired objects made from `pems`.
 */
export async function readClusterTls(cluster: KVRaftCluster, rest: KubeRest, request: ClusterTlsRequest): Promise<ClusterTls> {
  const settings = tlsSettings(cluster.spec);
  if (!Number.isSafeInteger(request.memberCount) || request.memberCount < 0) throw new RangeError(`memberCount must be a whole number >= 0, got ${request.memberCount}`);
  const now = (request.now ?? new Date()).getTime();
  const renewBeforeMs = settings.renewBeforeDays * DAY_MS;
  const names = objectNames(cluster.metadata.name);
  const namespace = cluster.metadata.namespace ?? "default";
  const liveSecrets = new Map<string, KubeObject>();
  const renewals: string[] = [];
  for (const name of [names.tlsCaSecret, names.tlsMembersSecret, names.tlsCoordinatorSecret]) {
    const live = await readOwnedSecret(rest, cluster, namespace, name);
    if (live !== undefined) liveSecrets.set(name, live);
  }

  const caData = dataOf(liveSecrets.get(names.tlsCaSecret));
  let ca = validPair(caData[TLS_KEYS.caCert], caData[TLS_KEYS.caKey]);
  let previousCa = validPair(caData[TLS_KEYS.previousCaCert], caData[TLS_KEYS.previousCaKey]);
  let rotatedAt = liveSecrets.get(names.tlsCaSecret)?.metadata.annotations?.[CA_ROTATED_AT_ANNOTATION];
  const caValidDays = Math.min(CA_VALID_DAYS_MAX, settings.certificateValidDays * CA_LIFETIME_FACTOR);
  if (ca === undefined) {
    // A new cluster (or its CA Secret was deleted: every certificate is reissued below).
    ca = await makeCertificateAuthority(`kvraft ${namespace}/${cluster.metadata.name} CA`, caValidDays);
    previousCa = undefined;
    rotatedAt = undefined;
  } else if (notAfterMs(ca.certPem) - now <= renewBeforeMs) {
    renewals.push(`CA: expires within ${settings.renewBeforeDays} days (the old CA stays trusted until it expires; certificates move to the new one in ${CA_PROPAGATION_MS / 60_000} minutes)`);
    previousCa = ca;
    ca = await makeCertificateAuthority(`kvraft ${namespace}/${cluster.metadata.name} CA`, caValidDays);
    rotatedAt = new Date(now).toISOString();
  }
  if (previousCa !== undefined && notAfterMs(previousCa.certPem) <= now) {
    previousCa = undefined; // expired: nothing it signed is valid any more
    rotatedAt = undefined;
  }
  const rotatedAtMs = rotatedAt === undefined ? Number.NaN : Date.parse(rotatedAt);
  const signing = previousCa !== undefined && !(now - rotatedAtMs >= CA_PROPAGATION_MS) ? previousCa : ca;

  const issue = async (what: string, current: PemPair | undefined, commonName: string, serving: ServingNames, uri: string | undefined, usage: "server" | "server-and-client"): Promise<PemPair> => {
    if (current !== undefined) {
      const why = whyReplace(current, signing, sanEntries(serving, uri), now, renewBeforeMs, settings.renewBeforeDays);
      if (why === undefined) return current;
      renewals.push(`${what}: ${why}`);
    }
    return issueCertificate(signing, { commonName, ...serving, ...(uri === undefined ? {} : { uris: [uri] }), usage, validDays: settings.certificateValidDays });
  };

  const domain = request.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN;
  const clusterId = clusterIdOf(cluster);
  const membersData = dataOf(liveSecrets.get(names.tlsMembersSecret));
  const members: Record<string, PemPair> = {};
  for (const [ordinal, pod] of memberPods(cluster, request.memberCount).entries()) {
    const keys = memberCertKeys(pod);
    const memberId = memberIdOfOrdinal(ordinal);
    members[pod] = await issue(pod, validPair(membersData[keys.cert], membersData[keys.key]), `kvraft member ${memberId} (${pod})`,
      memberServingNames(cluster, ordinal, domain), memberUri({ clusterId, memberId }), "server-and-client");
  }
  const coordinatorData = dataOf(liveSecrets.get(names.tlsCoordinatorSecret));
  const coordinator = await issue("coordinator", validPair(coordinatorData[TLS_KEYS.tlsCert], coordinatorData[TLS_KEYS.tlsKey]), `kvraft coordinator (${names.coordinator})`,
    coordinatorServingNames(cluster, domain), undefined, "server");

  return {
    pems: {
      ca,
      ...(previousCa === undefined ? {} : { previousCa }),
      ...(rotatedAt === undefined ? {} : { caRotatedAt: rotatedAt }),
      caBundlePem: previousCa === undefined ? ca.certPem : `${ca.certPem}${previousCa.certPem}`,
      members,
      coordinator,
    },
    liveSecrets,
    renewals,
  };
}

/** A Secret of this cluster (by owner uid): one left by a deleted cluster of the same name is not reused. */
export async function readOwnedSecret(rest: KubeRest, cluster: KVRaftCluster, namespace: string, name: string): Promise<KubeObject | undefined> {
  let secret: KubeObject;
  try {
    secret = await rest.request<KubeObject>("GET", objectPath(SECRET_TYPE, name, namespace));
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
  return secret.metadata.ownerReferences?.some((r) => r.uid === cluster.metadata.uid) === true ? secret : undefined;
}

function dataOf(secret: KubeObject | undefined): Record<string, string> {
  const data = (secret as { data?: Record<string, unknown> } | undefined)?.data ?? {};
  const decoded: Record<string, string> = {};
  for (const [key, value] of Object.entries(data)) if (typeof value === "string") decoded[key] = Buffer.from(value, "base64").toString("utf8");
  return decoded;
}

/** A certificate and the key that goes with it, or undefined if either is missing, unreadable or they do not match. */
function validPair(certPem: string | undefined, keyPem: string | undefined): PemPair | undefined {
  if (certPem === undefined || keyPem === undefined) return undefined;
  try {
    return new X509Certificate(certPem).checkPrivateKey(createPrivateKey(keyPem)) ? { certPem, keyPem } : undefined;
  } catch {
    return undefined;
  }
}

function notAfterMs(certPem: string): number {
  return Date.parse(new X509Certificate(certPem).validTo);
}

/** The subject alternative names as Node's X509Certificate.subjectAltName lists them, sorted. */
function sanEntries(serving: ServingNames, uri: string | undefined): string[] {
  return [...serving.dnsNames.map((n) => `DNS:${n}`), ...serving.ipAddresses.map((a) => `IP Address:${a}`), ...(uri === undefined ? [] : [`URI:${uri}`])].sort();
}

/**
 * Why a certificate must be replaced, or undefined to keep it: it must be signed by the
 * CA that signs now, have exactly the names it should (the member's URI, and the DNS
 * names, which change with the cluster domain), and not expire within the renewal
 * window, unless the signing CA itself does (a certificate it issued now would expire
 * no later: the rotation replaces both).
 */
function whyReplace(pair: PemPair, signing: PemPair, expectedNames: readonly string[], now: number, renewBeforeMs: number, renewBeforeDays: number): string | undefined {
  const cert = new X509Certificate(pair.certPem);
  const signer = new X509Certificate(signing.certPem);
  if (!cert.verify(signer.publicKey)) return "not signed by the current CA";
  if ((cert.subjectAltName ?? "").split(", ").sort().join("\n") !== expectedNames.join("\n")) return "its names are not the member's (cluster, member id or DNS names changed)";
  const expiresSoon = Date.parse(cert.validTo) - now <= renewBeforeMs;
  const signerExpiresSoon = Date.parse(signer.validTo) - now <= renewBeforeMs;
  return expiresSoon && !signerExpiresSoon ? `expires within ${renewBeforeDays} days (${cert.validTo})` : undefined;
}
