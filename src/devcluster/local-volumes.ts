import { mkdirSync, rmSync, chownSync } from "node:fs";
import { join } from "node:path";
import { KubeRest, loadKubeConfig } from "../operator/controller/kube-rest.js";

/**
 * The dev cluster's volumes: a StorageClass whose claims wait for their pod to be
 * scheduled (WaitForFirstConsumer), then get a PersistentVolume of kind `local` on the
 * node the scheduler chose, a folder in that node's own directory. This is what
 * local-path provisioners do on kind: the data stays on one node, and a pod that comes
 * back is scheduled where its claim's volume is. A released volume is deleted with its
 * folder, as reclaimPolicy Delete says.
 */
export const DEV_STORAGE_CLASS = "standard";
const PROVISIONER = "kvraft.io/dev-local-volume";
const SELECTED_NODE = "volume.kubernetes.io/selected-node";
/** How often the provisioner looks for claims to serve (a claim waits at most this long). */
const POLL_MS = 1_000;
/** The image's user (Dockerfile): the folder is its, as a provisioner with fsGroup support would make it. */
const VOLUME_OWNER_ID = 1000;

export function storageClassManifest(): object {
  return {
    apiVersion: "storage.k8s.io/v1",
    kind: "StorageClass",
    metadata: { name: DEV_STORAGE_CLASS, annotations: { "storageclass.kubernetes.io/is-default-class": "true" } },
    provisioner: PROVISIONER,
    reclaimPolicy: "Delete",
    volumeBindingMode: "WaitForFirstConsumer",
  };
}

interface Claim {
  metadata: { name: string; namespace: string; uid: string; annotations?: Record<string, string> };
  spec: { storageClassName?: string; accessModes?: string[]; resources?: { requests?: { storage?: string } }; volumeName?: string };
  status?: { phase?: string };
}

interface Volume {
  metadata: { name: string; annotations?: Record<string, string> };
  spec: { local?: { path: string } };
  status?: { phase?: string };
}

export class LocalVolumeProvisioner {
  private readonly kube: KubeRest;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  /** The last failure, for a status line; the loop goes on. */
  lastError: string | undefined;

  /** nodeDirs: each node's name and the folder its volumes go in. */
  constructor(kubeconfig: string, private readonly nodeDirs: ReadonlyMap<string, string>) {
    this.kube = new KubeRest(loadKubeConfig(kubeconfig));
  }

  start(): void {
    const tick = (): void => {
      this.running = this.once().catch((error: Error) => {
        this.lastError = error.message;
      }).finally(() => {
        if (this.timer !== undefined) this.timer = setTimeout(tick, POLL_MS);
      });
    };
    this.timer = setTimeout(tick, 0);
  }

  async stop(): Promise<void> {
    const timer = this.timer;
    this.timer = undefined;
    if (timer !== undefined) clearTimeout(timer);
    await this.running;
  }

  /** One pass: a volume for every waiting claim of the class, and deletion of released volumes. */
  async once(): Promise<void> {
    const claims = await this.kube.request<{ items: Claim[] }>("GET", "/api/v1/persistentvolumeclaims");
    for (const claim of claims.items) {
      const node = claim.metadata.annotations?.[SELECTED_NODE];
      if (claim.status?.phase !== "Pending" || claim.spec.volumeName || node === undefined) continue;
      if ((claim.spec.storageClassName ?? DEV_STORAGE_CLASS) !== DEV_STORAGE_CLASS) continue;
      await this.provision(claim, node);
    }
    const volumes = await this.kube.request<{ items: Volume[] }>("GET", "/api/v1/persistentvolumes");
    for (const volume of volumes.items) {
      if (volume.metadata.annotations?.["pv.kubernetes.io/provisioned-by"] !== PROVISIONER) continue;
      if (volume.status?.phase !== "Released" && volume.status?.phase !== "Failed") continue;
      if (volume.spec.local?.path !== undefined) rmSync(volume.spec.local.path, { recursive: true, force: true });
      await this.kube.request("DELETE", `/api/v1/persistentvolumes/${volume.metadata.name}`).catch(() => undefined);
    }
  }

  private async provision(claim: Claim, node: string): Promise<void> {
    const nodeDir = this.nodeDirs.get(node);
    if (nodeDir === undefined) return; // not a node of this dev cluster
    const name = `pvc-${claim.metadata.uid}`;
    const path = join(nodeDir, name);
    mkdirSync(path, { recursive: true, mode: 0o750 });
    chownSync(path, VOLUME_OWNER_ID, VOLUME_OWNER_ID);
    const volume = {
      apiVersion: "v1",
      kind: "PersistentVolume",
      metadata: { name, annotations: { "pv.kubernetes.io/provisioned-by": PROVISIONER } },
      spec: {
        capacity: { storage: claim.spec.resources?.requests?.storage ?? "1Gi" },
        accessModes: claim.spec.accessModes ?? ["ReadWriteOnce"],
        persistentVolumeReclaimPolicy: "Delete",
        storageClassName: DEV_STORAGE_CLASS,
        volumeMode: "Filesystem",
        local: { path },
        claimRef: { apiVersion: "v1", kind: "PersistentVolumeClaim", namespace: claim.metadata.namespace, name: claim.metadata.name, uid: claim.metadata.uid },
        nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: [node] }] }] } },
      },
    };
    await this.kube.request("POST", "/api/v1/persistentvolumes", { body: volume }).catch((error: Error) => {
      if (!/AlreadyExists|already exists/.test(error.message)) throw error;
    });
  }
}
