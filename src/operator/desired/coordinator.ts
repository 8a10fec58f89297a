import type { V1DeploymentSpec, V1EnvVar, V1ResourceRequirements, V1ServiceSpec, V1Volume, V1VolumeMount } from "@kubernetes/client-node";
import type { KVRaftCluster, KubeObject } from "../types.js";
import { COORDINATOR_TOKEN_FILE, coordinatorTokenInUse } from "./client-tokens.js";
import { clusterIdOf, ownedMeta, selectorLabels } from "./meta.js";
import { CLIENT_TOKEN_KEYS, objectNames, PATHS, PORTS, TLS_KEYS } from "./names.js";
import type { DesiredOptions } from "./options.js";
import { RUN_AS_ID } from "./server-pod.js";
import { coordinatorReplicas, SPEC_DEFAULTS, tlsSettings } from "./spec-defaults.js";

const TLS_VOLUME = "tls";
const TOKEN_VOLUME = "coordinator-token";

/**
 * With TLS the coordinator serves HTTPS with its certificate from the coord Secret (named
 * for the coordinator Service, so members and clients check it) and takes a member's
 * report only with that member's certificate from the cluster's CA (the bundle, ca.crt).
 * Reading the view asks no credential: clients need only the CA. The files are renewed in
 * place by the kubelet and reloaded by the coordinator.
 */
function tlsParts(cluster: KVRaftCluster, options: DesiredOptions): { env: V1EnvVar[]; volumes: V1Volume[]; mounts: V1VolumeMount[] } {
  if (!tlsSettings(cluster.spec).enabled) return tokenParts(cluster, options);
  const file = (key: string): string => `${PATHS.tlsDir}/${key}`;
  return {
    env: [
      { name: "KVRAFT_COORD_CERT_FILE", value: file(TLS_KEYS.tlsCert) },
      { name: "KVRAFT_COORD_KEY_FILE", value: file(TLS_KEYS.tlsKey) },
      { name: "KVRAFT_COORD_TRUSTED_CA_FILE", value: file(TLS_KEYS.caCert) },
    ],
    volumes: [{ name: TLS_VOLUME, secret: { secretName: objectNames(cluster.metadata.name).tlsCoordinatorSecret, defaultMode: 0o440 } }],
    mounts: [{ name: TLS_VOLUME, mountPath: PATHS.tlsDir, readOnly: true }],
  };
}

/**
 * Without TLS, reports are taken only with the cluster's coordinator token (the servers'
 * KVRAFT_COORD_TOKEN_FILE): otherwise anyone reaching the coordinator could name a leader.
 */
function tokenParts(cluster: KVRaftCluster, options: DesiredOptions): { env: V1EnvVar[]; volumes: V1Volume[]; mounts: V1VolumeMount[] } {
  if (coordinatorTokenInUse(cluster, options) === undefined) return { env: [], volumes: [], mounts: [] };
  return {
    env: [{ name: "KVRAFT_COORD_AUTH_TOKEN_FILE", value: COORDINATOR_TOKEN_FILE }],
    volumes: [{
      name: TOKEN_VOLUME,
      secret: { secretName: objectNames(cluster.metadata.name).clientTokensSecret, defaultMode: 0o440, items: [{ key: CLIENT_TOKEN_KEYS.coordinator, path: CLIENT_TOKEN_KEYS.coordinator }] },
    }],
    mounts: [{ name: TOKEN_VOLUME, mountPath: PATHS.clientTokensDir, readOnly: true }],
  };
}

/** Discovery only (who leads, who is there): Raft never waits on it, so one replica by default. */
export function coordinatorDeployment(cluster: KVRaftCluster, options: DesiredOptions): KubeObject {
  const labels = selectorLabels(cluster, "coordinator");
  const tls = tlsParts(cluster, options);
  // The kubelet neither checks the certificate nor presents one: the coordinator asks for client certificates but requires none.
  const scheme = tlsSettings(cluster.spec).enabled ? { scheme: "HTTPS" } : {};
  const probe = { httpGet: { path: "/healthz", port: PORTS.coordinator, ...scheme }, periodSeconds: 10, timeoutSeconds: 2, failureThreshold: 3 };
  const spec: V1DeploymentSpec = {
    replicas: coordinatorReplicas(cluster.spec),
    selector: { matchLabels: labels },
    template: {
      metadata: { labels: { ...labels, "app.kubernetes.io/managed-by": "kvraft-operator" } },
      spec: {
        automountServiceAccountToken: false,
        // fsGroup: the mounted key (mode 0440) is readable by the image's group.
        securityContext: { runAsNonRoot: true, runAsUser: RUN_AS_ID, runAsGroup: RUN_AS_ID, fsGroup: RUN_AS_ID, seccompProfile: { type: "RuntimeDefault" } },
        containers: [{
          name: "coordinator",
          image: cluster.spec.image,
          imagePullPolicy: cluster.spec.imagePullPolicy ?? SPEC_DEFAULTS.imagePullPolicy,
          args: ["coord"],
          env: [
            { name: "KVRAFT_COORD_HOST", value: "0.0.0.0" },
            { name: "KVRAFT_COORD_PORT", value: String(PORTS.coordinator) },
            // The id the members carry now: a recovery's new id changes the template, so the
            // coordinator rolls (it holds only soft state) and never shows the old history's
            // silent members beside the new ones, nor a stranger's cluster.
            { name: "KVRAFT_COORD_CLUSTER_ID", value: clusterIdOf(cluster) },
            ...tls.env,
          ],
          ports: [{ name: "http", containerPort: PORTS.coordinator }],
          readinessProbe: probe,
          livenessProbe: probe,
          resources: (cluster.spec.coordinator?.resources ?? {}) as V1ResourceRequirements,
          securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
          ...(tls.mounts.length === 0 ? {} : { volumeMounts: tls.mounts }),
        }],
        ...(tls.volumes.length === 0 ? {} : { volumes: tls.volumes }),
      },
    },
  };
  return { apiVersion: "apps/v1", kind: "Deployment", metadata: ownedMeta(cluster, objectNames(cluster.metadata.name).coordinator, "coordinator"), spec };
}

export function coordinatorService(cluster: KVRaftCluster): KubeObject {
  const spec: V1ServiceSpec = {
    selector: selectorLabels(cluster, "coordinator"),
    ports: [{ name: "http", port: PORTS.coordinator, targetPort: PORTS.coordinator, protocol: "TCP" }],
  };
  return { apiVersion: "v1", kind: "Service", metadata: ownedMeta(cluster, objectNames(cluster.metadata.name).coordinator, "coordinator"), spec };
}
