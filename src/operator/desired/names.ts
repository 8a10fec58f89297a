/**
 * The names and ports of what the operator creates for a cluster NAME. The controller,
 * the desired manifests and the tests all take them from here.
 */
export const PORTS = { peer: 7000, client: 7100, http: 8080, admin: 8081, memcached: 11211, coordinator: 7070 } as const;

/** Where the server keeps its data and finds the admin token, inside the pod. */
export const PATHS = {
  dataDir: "/var/lib/kvraft", adminTokenDir: "/etc/kvraft/admin", adminTokenKey: "token", tlsDir: "/etc/kvraft/tls",
  clientTokensDir: "/etc/kvraft/client-tokens",
} as const;

/**
 * Keys of the client tokens Secret: `tokens.csv` is the servers' --auth-token-file (one
 * `token,name,role` per line); each token is also under its role's name alone, so a user
 * can take one with `kubectl get secret NAME-client-tokens -o jsonpath='{.data.read-only}'`.
 */
export const CLIENT_TOKEN_KEYS = { file: "tokens.csv", readWrite: "read-write", readOnly: "read-only", coordinator: "coordinator" } as const;

/**
 * Keys of the TLS Secrets and of the public CA ConfigMap. A member's certificate and key
 * are `<pod>.crt` and `<pod>.key` in the members Secret; `ca.crt` is the bundle every
 * member and client trusts (the current CA, and the previous one while a rotation lasts).
 */
export const TLS_KEYS = {
  caCert: "ca.crt", caKey: "ca.key", previousCaCert: "previous-ca.crt", previousCaKey: "previous-ca.key",
  tlsCert: "tls.crt", tlsKey: "tls.key",
} as const;

/** The ConfigMap keys read at pod start (not in the pod template, so changing them restarts nothing). */
export const CONFIG_KEYS = { peers: "peers", initialClusterState: "initial-cluster-state", recoverFromMember: "recover-from-member" } as const;

export function objectNames(cluster: string): {
  statefulSet: string; peerService: string; clientService: string; coordinator: string;
  configMap: string; adminSecret: string; serviceAccount: string; podDisruptionBudget: string;
  networkPolicy: string; coordinatorNetworkPolicy: string; podMonitor: string; coordinatorPodMonitor: string;
  tlsCaSecret: string; tlsMembersSecret: string; tlsCoordinatorSecret: string; caConfigMap: string; clientTokensSecret: string;
} {
  return {
    statefulSet: cluster,
    peerService: `${cluster}-peer`,
    clientService: `${cluster}-client`,
    coordinator: `${cluster}-coord`,
    configMap: `${cluster}-config`,
    adminSecret: `${cluster}-admin-token`,
    serviceAccount: cluster,
    podDisruptionBudget: cluster,
    networkPolicy: cluster,
    coordinatorNetworkPolicy: `${cluster}-coord`,
    podMonitor: cluster,
    coordinatorPodMonitor: `${cluster}-coord`,
    tlsCaSecret: `${cluster}-tls-ca`,
    tlsMembersSecret: `${cluster}-tls-members`,
    tlsCoordinatorSecret: `${cluster}-tls-coord`,
    caConfigMap: `${cluster}-ca`,
    clientTokensSecret: `${cluster}-client-tokens`,
  };
}

/** Pod NAME-i of the StatefulSet. */
export function podName(cluster: string, ordinal: number): string {
  return `${cluster}-${ordinal}`;
}

/** A member's certificate and key in the members Secret (and, mounted, in PATHS.tlsDir). */
export function memberCertKeys(pod: string): { cert: string; key: string } {
  return { cert: `${pod}.crt`, key: `${pod}.key` };
}

/** A pod's stable DNS name through the headless peer Service. */
export function podHost(cluster: string, namespace: string, ordinal: number, clusterDomain: string): string {
  return `${podName(cluster, ordinal)}.${objectNames(cluster).peerService}.${namespace}.svc.${clusterDomain}`;
}
