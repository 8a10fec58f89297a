import { stringify } from "yaml";

/**
 * What kwok needs beyond its binary: the rig's fake Nodes, the default StorageClass whose
 * claims are provisioned by a kwok stage, and those volume stages. Pods and Nodes use the
 * stages kwok itself ships (printed by the kwok-default-stages tool).
 */

/** The default StorageClass of the rig: claims that name it, or no class, get a volume. */
export const RIG_STORAGE_CLASS = "standard";
const RIG_PROVISIONER = "kvraft.test/rig-volume";

/** Fake nodes get their own zone each, so topology spread and anti-affinity have something to spread over. */
export function fakeNodeManifests(count: number): object[] {
  const nodes: object[] = [];
  for (let i = 0; i < count; i++) {
    const name = `kwok-node-${i}`;
    nodes.push({
      apiVersion: "v1",
      kind: "Node",
      metadata: {
        name,
        annotations: { "kwok.x-k8s.io/node": "fake" },
        labels: {
          "kubernetes.io/hostname": name,
          "kubernetes.io/os": "linux",
          "kubernetes.io/arch": "amd64",
          "topology.kubernetes.io/zone": `zone-${String.fromCharCode(97 + i)}`,
          type: "kwok",
        },
      },
      // The node-initialize stage keeps what is here and fills in conditions and addresses.
      status: { allocatable: { cpu: "32", memory: "128Gi", pods: "110" }, capacity: { cpu: "32", memory: "128Gi", pods: "110" } },
    });
  }
  return nodes;
}

export function storageClassManifest(): object {
  return {
    apiVersion: "storage.k8s.io/v1",
    kind: "StorageClass",
    metadata: { name: RIG_STORAGE_CLASS, annotations: { "storageclass.kubernetes.io/is-default-class": "true" } },
    provisioner: RIG_PROVISIONER,
    reclaimPolicy: "Delete",
    volumeBindingMode: "Immediate",
    allowVolumeExpansion: true,
  };
}

const OWN_CLASS = `self.spec.storageClassName == '${RIG_STORAGE_CLASS}'`;

/**
 * Two stages make kwok a volume provisioner. A pending claim of the rig's class gets a
 * PersistentVolume pre-bound to it (claimRef with its uid); kube-controller-manager's
 * persistent volume binder then completes the binding, exactly as it does for an external
 * CSI provisioner. A released volume of the class is deleted, as reclaimPolicy Delete asks.
 */
function volumeStages(): object[] {
  const provision = {
    apiVersion: "kwok.x-k8s.io/v1alpha1",
    kind: "Stage",
    metadata: { name: "kvraft-rig-pvc-provision" },
    spec: {
      resourceRef: { apiGroup: "v1", kind: "PersistentVolumeClaim" },
      selector: {
        matchExpressions: [
          { cel: { expression: OWN_CLASS } },
          { cel: { expression: "!has(self.metadata.deletionTimestamp)" } },
          { cel: { expression: "!has(self.spec.volumeName)" } },
        ],
      },
      steps: [{
        apply: {
          template: [
            "apiVersion: v1",
            "kind: PersistentVolume",
            "metadata:",
            "  name: pvc-{{ .metadata.uid }}",
            "  annotations:",
            `    pv.kubernetes.io/provisioned-by: ${RIG_PROVISIONER}`,
            "spec:",
            "  accessModes:",
            "  {{ YAML .spec.accessModes 2 }}",
            "  capacity:",
            "    storage: {{ .spec.resources.requests.storage | Quote }}",
            "  persistentVolumeReclaimPolicy: Delete",
            `  storageClassName: ${RIG_STORAGE_CLASS}`,
            "  volumeMode: {{ or .spec.volumeMode \"Filesystem\" | Quote }}",
            "  claimRef:",
            "    apiVersion: v1",
            "    kind: PersistentVolumeClaim",
            "    name: {{ .metadata.name | Quote }}",
            "    namespace: {{ .metadata.namespace | Quote }}",
            "    uid: {{ .metadata.uid | Quote }}",
            // Never mounted: kwok runs no containers. The path only makes the volume valid.
            "  hostPath:",
            "    path: /kvraft-test-rig/pvc-{{ .metadata.uid }}",
          ].join("\n"),
        },
      }],
    },
  };
  const reclaim = {
    apiVersion: "kwok.x-k8s.io/v1alpha1",
    kind: "Stage",
    metadata: { name: "kvraft-rig-pv-reclaim" },
    spec: {
      resourceRef: { apiGroup: "v1", kind: "PersistentVolume" },
      selector: {
        matchExpressions: [
          { cel: { expression: OWN_CLASS } },
          { cel: { expression: "!has(self.metadata.deletionTimestamp)" } },
          { cel: { expression: "self.spec.persistentVolumeReclaimPolicy == 'Delete'" } },
          { cel: { expression: "self.status.phase == 'Released'" } },
        ],
      },
      steps: [{ delete: true }],
    },
  };
  return [provision, reclaim];
}

/** kwok's configuration file: its own node and pod stages followed by the rig's volume stages. */
export function kwokConfig(defaultStagesYaml: string): string {
  const own = volumeStages().map((stage) => `---\n${stringify(stage)}`).join("");
  return `${defaultStagesYaml.trimEnd()}\n${own}`;
}
