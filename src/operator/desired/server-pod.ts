import type { V1Affinity, V1Container, V1PodTemplateSpec, V1Probe, V1ResourceRequirements, V1Toleration, V1TopologySpreadConstraint } from "@kubernetes/client-node";
import type { KVRaftCluster } from "../types.js";
import { selectorLabels } from "./meta.js";
import { CLIENT_TOKEN_KEYS, objectNames, PATHS, PORTS } from "./names.js";
import { coordinatorTokenInUse } from "./client-tokens.js";
import type { DesiredOptions } from "./options.js";
import { SERVER_CONTAINER, serverEnv } from "./server-env.js";
import { SPEC_DEFAULTS, terminationGracePeriodSeconds, tlsSettings } from "./spec-defaults.js";

/** The image's user (see the Dockerfile): the volume is made writable for its group. */
export const RUN_AS_ID = 1000;
export const DATA_VOLUME = "data";
const ADMIN_TOKEN_VOLUME = "admin-token";
const TLS_VOLUME = "tls";
const CLIENT_TOKENS_VOLUME = "client-tokens";

/**
 * The kubelet's probes: HTTPS when the HTTP port serves TLS (the kubelet does not check
 * the certificate, and presents none, so the HTTP port must not require one).
 */
const httpProbe = (path: string, port: number, periodSeconds: number, failureThreshold: number, tls: boolean): V1Probe =>
  ({ httpGet: { path, port, ...(tls ? { scheme: "HTTPS" } : {}) }, periodSeconds, failureThreshold, timeoutSeconds: 2 });

/** By default the servers prefer different nodes: losing a node then costs one member, not a quorum. */
export function spreadAcrossNodes(labels: Record<string, string>): V1Affinity {
  return {
    podAntiAffinity: {
      preferredDuringSchedulingIgnoredDuringExecution: [
        { weight: 100, podAffinityTerm: { topologyKey: "kubernetes.io/hostname", labelSelector: { matchLabels: labels } } },
      ],
    },
  };
}

function serverContainer(cluster: KVRaftCluster, options: DesiredOptions): V1Container {
  const tls = tlsSettings(cluster.spec).enabled;
  return {
    name: SERVER_CONTAINER,
    image: cluster.spec.image,
    imagePullPolicy: cluster.spec.imagePullPolicy ?? SPEC_DEFAULTS.imagePullPolicy,
    args: ["server"],
    env: serverEnv(cluster, options),
    ports: [
      { name: "peer", containerPort: PORTS.peer },
      { name: "client", containerPort: PORTS.client },
      { name: "http", containerPort: PORTS.http },
      { name: "admin", containerPort: PORTS.admin },
      { name: "memcached", containerPort: PORTS.memcached },
    ],
    // /readyz fails while a member lags (a learner catching up): clients skip it, peers still reach it.
    readinessProbe: httpProbe("/readyz", PORTS.http, 5, 3, tls),
    livenessProbe: httpProbe("/healthz", PORTS.http, 10, 6, tls),
    // Replaying a long WAL at start must not count against liveness: up to 10 minutes.
    startupProbe: httpProbe("/healthz", PORTS.http, 5, 120, tls),
    resources: (cluster.spec.resources ?? {}) as V1ResourceRequirements,
    volumeMounts: [
      { name: DATA_VOLUME, mountPath: PATHS.dataDir },
      { name: ADMIN_TOKEN_VOLUME, mountPath: PATHS.adminTokenDir, readOnly: true },
      { name: CLIENT_TOKENS_VOLUME, mountPath: PATHS.clientTokensDir, readOnly: true },
      ...(tls ? [{ name: TLS_VOLUME, mountPath: PATHS.tlsDir, readOnly: true }] : []),
    ],
    securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
  };
}

export function serverPodTemplate(cluster: KVRaftCluster, options: DesiredOptions): V1PodTemplateSpec {
  const spec = cluster.spec;
  const labels = selectorLabels(cluster, "server");
  return {
    metadata: {
      // The user's labels first: they must not change the selector's.
      labels: { ...spec.podLabels, ...labels, "app.kubernetes.io/managed-by": "kvraft-operator" },
      ...(spec.podAnnotations === undefined ? {} : { annotations: { ...spec.podAnnotations } }),
    },
    spec: {
      serviceAccountName: objectNames(cluster.metadata.name).serviceAccount,
      automountServiceAccountToken: false,
      terminationGracePeriodSeconds: terminationGracePeriodSeconds(spec),
      affinity: (spec.affinity as V1Affinity | undefined) ?? spreadAcrossNodes(labels),
      ...(spec.tolerations === undefined ? {} : { tolerations: spec.tolerations as unknown as V1Toleration[] }),
      ...(spec.topologySpreadConstraints === undefined ? {} : { topologySpreadConstraints: spec.topologySpreadConstraints as unknown as V1TopologySpreadConstraint[] }),
      ...(spec.priorityClassName === undefined ? {} : { priorityClassName: spec.priorityClassName }),
      securityContext: { runAsNonRoot: true, runAsUser: RUN_AS_ID, runAsGroup: RUN_AS_ID, fsGroup: RUN_AS_ID, seccompProfile: { type: "RuntimeDefault" } },
      containers: [serverContainer(cluster, options)],
      volumes: [
        { name: ADMIN_TOKEN_VOLUME, secret: { secretName: objectNames(cluster.metadata.name).adminSecret, defaultMode: 0o440 } },
        // Only tokens.csv: the same tokens are also in the Secret one per key, for users.
        {
          name: CLIENT_TOKENS_VOLUME,
          secret: {
            secretName: objectNames(cluster.metadata.name).clientTokensSecret, defaultMode: 0o440,
            items: [
              { key: CLIENT_TOKEN_KEYS.file, path: CLIENT_TOKEN_KEYS.file },
              ...(coordinatorTokenInUse(cluster, options) === undefined ? [] : [{ key: CLIENT_TOKEN_KEYS.coordinator, path: CLIENT_TOKEN_KEYS.coordinator }]),
            ],
          },
        },
        // Updated in place by the kubelet when the operator renews a certificate: the servers reload changed files.
        ...(tlsSettings(spec).enabled ? [{ name: TLS_VOLUME, secret: { secretName: objectNames(cluster.metadata.name).tlsMembersSecret, defaultMode: 0o440 } }] : []),
      ],
    },
  };
}
