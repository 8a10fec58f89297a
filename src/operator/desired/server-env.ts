import type { V1EnvVar } from "@kubernetes/client-node";
import type { KVRaftCluster } from "../types.js";
import { clusterIdOf } from "./meta.js";
import { CLIENT_TOKEN_KEYS, CONFIG_KEYS, objectNames, PATHS, PORTS, TLS_KEYS } from "./names.js";
import { COORDINATOR_TOKEN_FILE, coordinatorTokenInUse } from "./client-tokens.js";
import type { DesiredOptions } from "./options.js";
import { DEFAULT_CLUSTER_DOMAIN } from "./options.js";
import { coordinatorReplicas, raftTiming, shutdownTransferMs, tlsSettings } from "./spec-defaults.js";

export const SERVER_CONTAINER = "server";

const fromField = (name: string, fieldPath: string): V1EnvVar => ({ name, valueFrom: { fieldRef: { fieldPath } } });
const fromConfig = (cluster: KVRaftCluster, name: string, key: string, optional = false): V1EnvVar =>
  ({ name, valueFrom: { configMapKeyRef: { name: objectNames(cluster.metadata.name).configMap, key, ...(optional ? { optional } : {}) } } });
const value = (name: string, text: string | number): V1EnvVar => ({ name, value: String(text) });

/**
 * The server's settings, as the environment variables `kvraft server --help` lists.
 * The member id is left out: the server takes it from POD_NAME (pod NAME-i is member i+1).
 * Every value here is the same for every pod, so a change to one rolls the pods.
 */
export function serverEnv(cluster: KVRaftCluster, options: DesiredOptions): V1EnvVar[] {
  const names = objectNames(cluster.metadata.name);
  const domain = options.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN;
  // $(VAR) is expanded by the kubelet from the variables defined before it.
  const ownHost = `$(POD_NAME).${names.peerService}.$(POD_NAMESPACE).svc.${domain}`;
  const timing = raftTiming(cluster.spec);
  const env: V1EnvVar[] = [
    fromField("POD_NAME", "metadata.name"),
    fromField("POD_NAMESPACE", "metadata.namespace"),
    value("KVRAFT_CLUSTER_ID", clusterIdOf(cluster)),
    value("KVRAFT_DATA_DIR", PATHS.dataDir),
    fromConfig(cluster, "KVRAFT_PEERS", CONFIG_KEYS.peers),
    fromConfig(cluster, "KVRAFT_INITIAL_CLUSTER_STATE", CONFIG_KEYS.initialClusterState),
    // Set only while a quorum-loss recovery rebuilds the cluster: from the ConfigMap, so
    // taking it away afterwards restarts no pod (the server ignores it once recovered).
    fromConfig(cluster, "KVRAFT_RECOVER_FROM_MEMBER", CONFIG_KEYS.recoverFromMember, true),
    value("KVRAFT_LISTEN_HOST", "0.0.0.0"),
    value("KVRAFT_PEER_PORT", PORTS.peer),
    value("KVRAFT_CLIENT_PORT", PORTS.client),
    value("KVRAFT_HTTP_PORT", PORTS.http),
    value("KVRAFT_MEMCACHED_PORT", PORTS.memcached),
    value("KVRAFT_ADMIN_PORT", PORTS.admin),
    value("KVRAFT_ADVERTISE_PEER", `${ownHost}:${PORTS.peer}`),
    value("KVRAFT_ADVERTISE_CLIENT", `${ownHost}:${PORTS.client}`),
    value("KVRAFT_ADVERTISE_HTTP", `${ownHost}:${PORTS.http}`),
    value("KVRAFT_ADVERTISE_MEMCACHED", `${ownHost}:${PORTS.memcached}`),
    value("KVRAFT_ADVERTISE_ADMIN", `${ownHost}:${PORTS.admin}`),
    value("KVRAFT_HEARTBEAT_MS", timing.heartbeatMs),
    value("KVRAFT_ELECTION_MS", timing.electionMs),
    value("KVRAFT_SHUTDOWN_TRANSFER_MS", shutdownTransferMs(cluster.spec)),
    value("KVRAFT_ADMIN_TOKEN_FILE", `${PATHS.adminTokenDir}/${PATHS.adminTokenKey}`),
    // The clients' read-write and read-only tokens (the client tokens Secret); the admin token is the one above.
    value("KVRAFT_AUTH_TOKEN_FILE", `${PATHS.clientTokensDir}/${CLIENT_TOKEN_KEYS.file}`),
    // The Node heap limit follows the container's memory limit (the server gives the heap 75%).
    // Without a limit the kubelet gives the node's allocatable memory.
    { name: "KVRAFT_MEMORY_MIB", valueFrom: { resourceFieldRef: { containerName: SERVER_CONTAINER, resource: "limits.memory", divisor: "1Mi" } } },
  ];
  const tls = tlsSettings(cluster.spec).enabled;
  if (tls) env.push(...tlsEnv());
  if (coordinatorReplicas(cluster.spec) > 0) {
    // With TLS the member reports over HTTPS with its member certificate (KVRAFT_PEER_CERT_FILE),
    // which the coordinator requires; it checks the coordinator's certificate, which carries this name.
    env.push(value("KVRAFT_COORD", `${tls ? "https" : "http"}://${names.coordinator}.$(POD_NAMESPACE).svc.${domain}:${PORTS.coordinator}`));
    // Without TLS the member proves itself to the coordinator with the cluster's coordinator token.
    if (coordinatorTokenInUse(cluster, options) !== undefined) env.push(value("KVRAFT_COORD_TOKEN_FILE", COORDINATOR_TOKEN_FILE));
  }
  return env;
}

/**
 * TLS on every port with the pod's own certificate from the members Secret. $(POD_NAME)
 * is expanded by the kubelet: POD_NAME comes first in the list. The peer port requires
 * a member certificate of the cluster's CA; the client ports ask for none (clients
 * authenticate by token), but trust the same CA when one is offered.
 */
function tlsEnv(): V1EnvVar[] {
  const cert = `${PATHS.tlsDir}/$(POD_NAME).crt`;
  const key = `${PATHS.tlsDir}/$(POD_NAME).key`;
  const ca = `${PATHS.tlsDir}/${TLS_KEYS.caCert}`;
  return [
    value("KVRAFT_PEER_CERT_FILE", cert), value("KVRAFT_PEER_KEY_FILE", key), value("KVRAFT_PEER_TRUSTED_CA_FILE", ca),
    value("KVRAFT_CERT_FILE", cert), value("KVRAFT_KEY_FILE", key), value("KVRAFT_TRUSTED_CA_FILE", ca),
  ];
}
