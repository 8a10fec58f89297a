import { KubeConfig } from "@kubernetes/client-node";
import { KubeApiError, KubeRest } from "../../src/operator/controller/kube-rest.js";
import type { ClusterSpec, ClusterStatus, KubeObject, KVRaftCluster } from "../../src/operator/types.js";

/** A KVRaftCluster as the API server would return it (uid, namespace, generation set). */
export function makeCluster(spec: Partial<ClusterSpec> = {}, status?: ClusterStatus, name = "kv"): KVRaftCluster {
  return {
    apiVersion: "kvraft.io/v1alpha1",
    kind: "KVRaftCluster",
    metadata: { name, namespace: "db", uid: "0b7f3c2e-1111-4a7c-9d1e-5f6a7b8c9d0e", generation: 1 },
    spec: { replicas: 3, image: "kvraft:test", storage: { size: "1Gi" }, ...spec },
    ...(status === undefined ? {} : { status }),
  };
}

/**
 * Stand-ins for the certificates the controller makes (cluster-tls.ts): the desired
 * manifests only carry them, never parse them.
 */
export const FAKE_TLS = {
  ca: { certPem: "CA-CERT", keyPem: "CA-KEY" },
  caBundlePem: "CA-CERT",
  members: { "kv-0": { certPem: "CERT-0", keyPem: "KEY-0" }, "kv-1": { certPem: "CERT-1", keyPem: "KEY-1" }, "kv-2": { certPem: "CERT-2", keyPem: "KEY-2" } },
  coordinator: { certPem: "COORD-CERT", keyPem: "COORD-KEY" },
} as const;

/** Stand-ins for the client tokens the controller makes (client-tokens.ts). */
export const FAKE_CLIENT_TOKENS = { readWrite: "rw-token-0123456789abcdef", readOnly: "ro-token-0123456789abcdef" } as const;

export const OPTIONS = {
  adminToken: "s3cret-token",
  clientTokens: FAKE_CLIENT_TOKENS,
  tls: FAKE_TLS,
  operator: { namespace: "kvraft-system", podLabels: { "app.kubernetes.io/name": "kvraft-operator" } },
} as const;

/** A kubeconfig that reaches nothing: for a KubeRest whose request() a test replaces. */
export function unreachableKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({ clusters: [{ name: "c", server: "http://127.0.0.1:1" }], users: [{ name: "u" }], contexts: [{ name: "c", cluster: "c", user: "u" }], currentContext: "c" });
  return kc;
}

/** The API server of a new cluster: nothing exists yet (every GET is a 404). */
export class EmptyRest extends KubeRest {
  constructor() {
    super(unreachableKubeConfig());
  }
  override request<T>(_method: string, path: string): Promise<T> {
    return Promise.reject(new KubeApiError(404, "NotFound", `${path} not found`));
  }
}

/** The object of that kind and name among the desired ones, or an error listing what there is. */
export function findObject(objects: readonly KubeObject[], kind: string, name: string): KubeObject & Record<string, unknown> {
  const object = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (object === undefined) throw new Error(`no ${kind}/${name} among ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(", ")}`);
  return object;
}
