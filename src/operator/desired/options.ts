import type { PemPair } from "../../security/pki.js";

/**
 * The cluster's certificates, made by the controller (cluster-tls.ts: random keys, so never
 * here). The desired Secrets hold them as given.
 */
export interface TlsPems {
  /** The CA that signs new certificates. */
  readonly ca: PemPair;
  /** The CA before the last rotation, kept (and trusted) until it expires. */
  readonly previousCa?: PemPair;
  /** When the CA was last replaced (ISO 8601): certificates move to the new CA only once every pod trusts it. */
  readonly caRotatedAt?: string;
  /** ca.crt as members and clients trust it: the current CA and, during a rotation, the previous one. */
  readonly caBundlePem: string;
  /** Each member's certificate and key, by pod name. */
  readonly members: Readonly<Record<string, PemPair>>;
  readonly coordinator: PemPair;
}

/** The clients' bearer tokens, one per role (the admin token is kept apart, in its own Secret). */
export interface ClientTokens {
  readonly readWrite: string;
  readonly readOnly: string;
  /**
   * What members present to the coordinator when the cluster runs without TLS (with TLS
   * they present their member certificates): without it the coordinator would take a
   * report from anyone. Not a client token: it is in no tokens.csv.
   */
  readonly coordinator?: string;
}

/** What the desired manifests need besides the CR: facts only the controller knows. */
export interface DesiredOptions {
  /** The admin API's bearer token (the controller keeps the Secret's; generated once, never here). */
  readonly adminToken: string;
  /** The clients' tokens (the controller keeps the Secret's; generated once, never here). */
  readonly clientTokens: ClientTokens;
  /** The operator's pods, the only ones the NetworkPolicy lets reach the HTTP (admin) port besides members. */
  readonly operator: { readonly namespace: string; readonly podLabels: Readonly<Record<string, string>> };
  /**
   * The StatefulSet's replicas as the planner last set them (the live StatefulSet's).
   * Undefined before the StatefulSet exists: then the founding size, spec.replicas.
   */
  readonly serverReplicas?: number;
  /**
   * The live StatefulSet's volumeClaimTemplates. They cannot change once it exists, so when
   * given they are kept as they are (a larger spec.storage.size is then the controller's to
   * apply to each PVC), and applying the StatefulSet never fails on them.
   */
  readonly liveVolumeClaimTemplates?: readonly Readonly<Record<string, unknown>>[];
  /** Members of the first configuration, when it differs from spec.replicas (a change made before the cluster formed). */
  readonly foundingMembers?: number;
  /** The Prometheus operator's PodMonitor CRD is installed (a PodMonitor is made only then). */
  readonly podMonitorAvailable?: boolean;
  /** The namespace Prometheus scrapes from when spec.monitoring.allowedNamespaces names none (default `monitoring`). */
  readonly monitoringNamespace?: string;
  readonly clusterDomain?: string;
  /** The certificates, required when spec.tls.enabled (the default). */
  readonly tls?: TlsPems;
}

export const DEFAULT_CLUSTER_DOMAIN = "cluster.local";
export const DEFAULT_MONITORING_NAMESPACE = "monitoring";

/** Pods in the cluster's namespace with this label may use the members' HTTP API (the admin API needs the token too). */
export const HTTP_CLIENT_LABEL = "kvraft.io/http-client";
