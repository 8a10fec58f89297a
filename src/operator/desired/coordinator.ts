import type { V1DeploymentSpec, V1ResourceRequirements, V1ServiceSpec } from "@kubernetes/client-node";
import type { KVRaftCluster, KubeObject } from "../types.js";
import { ownedMeta, selectorLabels } from "./meta.js";
import { objectNames, PORTS } from "./names.js";
import { RUN_AS_ID } from "./server-pod.js";
import { coordinatorReplicas, SPEC_DEFAULTS } from "./spec-defaults.js";

/** Discovery only (who leads, who is there): Raft never waits on it, so one replica by default. */
export function coordinatorDeployment(cluster: KVRaftCluster): KubeObject {
  const labels = selectorLabels(cluster, "coordinator");
  const probe = { httpGet: { path: "/healthz", port: PORTS.coordinator }, periodSeconds: 10, timeoutSeconds: 2, failureThreshold: 3 };
  const spec: V1DeploymentSpec = {
    replicas: coordinatorReplicas(cluster.spec),
    selector: { matchLabels: labels },
    template: {
      metadata: { labels: { ...labels, "app.kubernetes.io/managed-by": "kvraft-operator" } },
      spec: {
        automountServiceAccountToken: false,
        securityContext: { runAsNonRoot: true, runAsUser: RUN_AS_ID, runAsGroup: RUN_AS_ID, seccompProfile: { type: "RuntimeDefault" } },
        containers: [{
          name: "coordinator",
          image: cluster.spec.image,
          imagePullPolicy: cluster.spec.imagePullPolicy ?? SPEC_DEFAULTS.imagePullPolicy,
          args: ["coord"],
          env: [{ name: "KVRAFT_COORD_HOST", value: "0.0.0.0" }, { name: "KVRAFT_COORD_PORT", value: String(PORTS.coordinator) }],
          ports: [{ name: "http", containerPort: PORTS.coordinator }],
          readinessProbe: probe,
          livenessProbe: probe,
          resources: (cluster.spec.coordinator?.resources ?? {}) as V1ResourceRequirements,
          securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
        }],
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
