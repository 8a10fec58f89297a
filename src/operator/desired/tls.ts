import { invariant } from "../../assert/invariant.js";
import type { KVRaftCluster, KubeObject } from "../types.js";
import { clusterNamespace, ownedMeta } from "./meta.js";
import { memberCertKeys, objectNames, podHost, podName, TLS_KEYS } from "./names.js";
import type { DesiredOptions, TlsPems } from "./options.js";
import { DEFAULT_CLUSTER_DOMAIN } from "./options.js";

/** On the CA Secret: when the CA was last replaced (see TlsPems.caRotatedAt). */
export const CA_ROTATED_AT_ANNOTATION = "kvraft.io/ca-rotated-at";

/** The names a certificate serves under, and the addresses it is reached on. */
export interface ServingNames {
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
}

/** A Service's names from inside the cluster: short, with namespace, .svc, and fully qualified. */
function serviceNames(service: string, namespace: string, domain: string): string[] {
  return [service, `${service}.${namespace}`, `${service}.${namespace}.svc`, `${service}.${namespace}.svc.${domain}`];
}

/**
 * A member pod's names: its own through the peer Service (with and without the cluster
 * domain), the client Service's (clients reach any member through it), and localhost
 * for a process in the pod. The member's identity is its URI SAN, not these names.
 */
export function memberServingNames(cluster: KVRaftCluster, ordinal: number, clusterDomain = DEFAULT_CLUSTER_DOMAIN): ServingNames {
  const namespace = clusterNamespace(cluster);
  const name = cluster.metadata.name;
  const own = podHost(name, namespace, ordinal, clusterDomain);
  return {
    dnsNames: [own.slice(0, -(clusterDomain.length + 1)), own, ...serviceNames(objectNames(name).clientService, namespace, clusterDomain), "localhost"],
    ipAddresses: ["127.0.0.1"],
  };
}

export function coordinatorServingNames(cluster: KVRaftCluster, clusterDomain = DEFAULT_CLUSTER_DOMAIN): ServingNames {
  return { dnsNames: [...serviceNames(objectNames(cluster.metadata.name).coordinator, clusterNamespace(cluster), clusterDomain), "localhost"], ipAddresses: ["127.0.0.1"] };
}

function tlsOf(options: DesiredOptions): TlsPems {
  invariant(options.tls !== undefined, () => "spec.tls.enabled is true but no certificates were given: the controller must make them (cluster-tls.ts) before the desired objects");
  return options.tls;
}

const base64 = (text: string): string => Buffer.from(text, "utf8").toString("base64");

/** Secret data (not stringData: stringData is never read back, so applying it again would never look settled). */
function secret(cluster: KVRaftCluster, name: string, data: Record<string, string>, annotations?: Record<string, string>): KubeObject {
  const meta = ownedMeta(cluster, name, "tls");
  return {
    apiVersion: "v1", kind: "Secret",
    metadata: annotations === undefined ? meta : { ...meta, annotations },
    type: "Opaque",
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, base64(v)])),
  };
}

/** The CA's key: only the operator reads this Secret (no pod mounts it). */
export function tlsCaSecret(cluster: KVRaftCluster, options: DesiredOptions): KubeObject {
  const tls = tlsOf(options);
  const previous: Record<string, string> = tls.previousCa === undefined ? {} : { [TLS_KEYS.previousCaCert]: tls.previousCa.certPem, [TLS_KEYS.previousCaKey]: tls.previousCa.keyPem };
  return secret(cluster, objectNames(cluster.metadata.name).tlsCaSecret,
    { [TLS_KEYS.caCert]: tls.ca.certPem, [TLS_KEYS.caKey]: tls.ca.keyPem, ...previous },
    tls.caRotatedAt === undefined ? undefined : { [CA_ROTATED_AT_ANNOTATION]: tls.caRotatedAt });
}

/**
 * Every member's certificate and key, and the CA bundle, mounted into every server pod.
 * A StatefulSet has one pod template, so each pod finds its own by its name
 * ($(POD_NAME).crt); the others' keys are there too (a per-pod Secret needs a CSI driver
 * such as cert-manager's: see the controller README).
 */
export function tlsMembersSecret(cluster: KVRaftCluster, options: DesiredOptions): KubeObject {
  const tls = tlsOf(options);
  const data: Record<string, string> = { [TLS_KEYS.caCert]: tls.caBundlePem };
  for (const [pod, pair] of Object.entries(tls.members).sort(([a], [b]) => a.localeCompare(b))) {
    const keys = memberCertKeys(pod);
    data[keys.cert] = pair.certPem;
    data[keys.key] = pair.keyPem;
  }
  return secret(cluster, objectNames(cluster.metadata.name).tlsMembersSecret, data);
}

/** The coordinator's certificate and the bundle it checks members' report certificates against (mounted by its Deployment). */
export function tlsCoordinatorSecret(cluster: KVRaftCluster, options: DesiredOptions): KubeObject {
  const tls = tlsOf(options);
  return secret(cluster, objectNames(cluster.metadata.name).tlsCoordinatorSecret,
    { [TLS_KEYS.caCert]: tls.caBundlePem, [TLS_KEYS.tlsCert]: tls.coordinator.certPem, [TLS_KEYS.tlsKey]: tls.coordinator.keyPem });
}

/** The CA bundle for clients: public, so a ConfigMap any client may read or mount. */
export function caConfigMap(cluster: KVRaftCluster, options: DesiredOptions): KubeObject {
  return {
    apiVersion: "v1", kind: "ConfigMap",
    metadata: ownedMeta(cluster, objectNames(cluster.metadata.name).caConfigMap, "tls"),
    data: { [TLS_KEYS.caCert]: tlsOf(options).caBundlePem },
  };
}

export function tlsObjects(cluster: KVRaftCluster, options: DesiredOptions): KubeObject[] {
  return [tlsCaSecret(cluster, options), tlsMembersSecret(cluster, options), tlsCoordinatorSecret(cluster, options), caConfigMap(cluster, options)];
}

/** The pod names that need a certificate: ordinals 0 .. count-1. */
export function memberPods(cluster: KVRaftCluster, count: number): string[] {
  return Array.from({ length: count }, (_, ordinal) => podName(cluster.metadata.name, ordinal));
}
